"""``regio catalog reindex``: rebuilds the search index and facet terms of every dataset."""

import pytest
from django.core.management import call_command
from django.db import connection

from regio.catalog import search, selectors
from regio.catalog.models import Dataset

pytestmark = pytest.mark.django_db


def _wipe_index(dataset):
    """Simulate a row created before migration 0003: no facet terms, absent from the index."""
    Dataset.objects.filter(pk=dataset.pk).update(facet_terms="")
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(f"DELETE FROM {search.FTS_TABLE} WHERE rowid = %s", [dataset.pk])
        else:
            cur.execute("UPDATE catalog_dataset SET search_vector = NULL WHERE id = %s", [dataset.pk])
    search.bump_version()


def test_reindex_backfills_search_and_facets(dataset, capsys):
    _wipe_index(dataset)
    assert selectors.search_datasets("subvention").total == 0
    assert Dataset.objects.get(pk=dataset.pk).facet_terms == ""

    call_command("catalog", "reindex", "--batch", "1")

    assert "réindexé" in capsys.readouterr().out
    dataset.refresh_from_db()
    assert "\ntheme:ECON\n" in dataset.facet_terms
    assert "\nformat:csv\n" in dataset.facet_terms
    assert "territory:commune:80021:Amiens" in dataset.facet_terms
    result = selectors.search_datasets("subvention")
    assert [d.pk for d in result.queryset] == [dataset.pk]
    assert {f["value"]: f["count"] for f in result.facets["format"]} == {"csv": 1}
    # The text query path filters facets row by row: it finds the dataset again.
    assert selectors.search_datasets("subvention", {"theme": "ECON"}).total == 1


def test_reindex_is_idempotent(dataset):
    call_command("catalog", "reindex")
    call_command("catalog", "reindex")
    assert selectors.search_datasets("associations").total == 1
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {search.FTS_TABLE} WHERE rowid = %s", [dataset.pk])
            assert cur.fetchone()[0] == 1


def test_index_dataset_ids_reindexes_a_list_of_ids(dataset):
    _wipe_index(dataset)
    assert selectors.search_datasets("subvention").total == 0
    assert search.index_dataset_ids([dataset.pk]) == 1
    assert [d.pk for d in selectors.search_datasets("subvention").queryset] == [dataset.pk]
