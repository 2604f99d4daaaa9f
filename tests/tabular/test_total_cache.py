"""The total of a filtered page is counted once per (file version, filters), then read from the cache."""

from __future__ import annotations

import duckdb
import pytest
from django.core.cache import cache

from regio.tabular import services
from regio.tabular.engine.convert import convert_file
from regio.tabular.engine.query import read_page
from regio.tabular.models import TabularResource

from .conftest import SOMME, read_rows, write_csv

KEY = "catalog.resource:77"


class RecordingCache(dict):
    """A minimal cache (``get``/``set``) that remembers what was stored."""

    def set(self, key, value):
        self[key] = value


def count(parquet, where: str) -> int:
    return duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{parquet}') WHERE {where}").fetchone()[0]


def test_total_counted_once_per_filter_then_reused_for_other_pages_and_sorts(tmp_path):
    parquet = tmp_path / "somme.parquet"
    convert_file(SOMME, parquet, name=SOMME.name)
    store = RecordingCache()
    first = read_page(parquet, filters_params=[("montant__gt", "100000")], sort="-montant", page_size=2, total_cache=store)
    assert first["total"] == 6 and list(store.values()) == [6]
    (key,) = store
    store[key] = 999  # a total read from the cache, not counted again, for any page and sort of the same filter
    assert read_page(parquet, filters_params=[("montant__gt", "100000")], sort="montant", page=2, page_size=2, total_cache=store)["total"] == 999
    assert read_page(parquet, filters_params=[("montant__gt", "100 000,00")], page=3, page_size=2, total_cache=store)["total"] == 999
    # another filter (or one more filter) is counted on its own
    both = read_page(parquet, filters_params=[("type__exact", "investissement"), ("montant__gt", "100000")], page_size=1, total_cache=store)
    assert both["total"] == count(parquet, "type = 'investissement' AND montant > 100000") and len(store) == 2
    swapped = read_page(parquet, filters_params=[("montant__gt", "100000"), ("type__exact", "investissement")], page_size=1, total_cache=store)
    assert swapped["total"] == both["total"] and len(store) == 2  # the order of ANDed filters does not matter
    # no cache given: always counted
    assert read_page(parquet, filters_params=[("montant__gt", "100000")], page_size=2)["total"] == 6


def test_a_short_page_gives_the_total_without_counting(tmp_path):
    parquet = tmp_path / "somme.parquet"
    convert_file(SOMME, parquet, name=SOMME.name)
    store = RecordingCache()
    assert read_page(parquet, page_size=20, total_cache=store)["total"] == 11
    assert read_page(parquet, filters_params=[("montant__gt", "100000")], page=2, page_size=4, total_cache=store)["total"] == 6
    assert read_page(parquet, filters_params=[("montant__gt", "99999999")], total_cache=store)["total"] == 0
    assert sorted(store.values()) == [0, 6, 11]


def test_a_file_rewritten_in_place_is_counted_again(tmp_path):
    header, *rows = read_rows(SOMME, encoding="windows-1252", delimiter=";")
    parquet = tmp_path / "data.parquet"
    convert_file(SOMME, parquet, name=SOMME.name)
    store = RecordingCache()
    params = [("montant__gt", "1000")]
    assert read_page(parquet, filters_params=params, page_size=1, total_cache=store)["total"] == count(parquet, "montant > 1000") == 11
    smaller = write_csv(tmp_path / "petit.csv", [header, *rows[:4]], delimiter=";", encoding="windows-1252")
    convert_file(smaller, parquet, name="petit.csv")  # same path, new content
    assert read_page(parquet, filters_params=params, page_size=1, total_cache=store)["total"] == 4
    assert len(store) == 2


@pytest.mark.django_db
def test_total_is_right_after_a_reconversion_of_the_resource(client, tabular_root, immediate_tasks):
    cache.clear()
    services.submit_file(KEY, SOMME, title="Subventions de la Somme")
    url = f"/api/1/resources/{KEY}/data/"
    query = {"montant__gt": "100000", "page_size": 1}
    assert client.get(url, query).json()["total"] == 6
    assert client.get(url, {**query, "page": 3, "sort": "-montant"}).json()["total"] == 6  # from the cache
    # the publisher replaces the file: fewer rows above 100 000 €
    header, *rows = read_rows(SOMME, encoding="windows-1252", delimiter=";")
    amount = header.index("montant")
    kept = [row for row in rows if float(row[amount].replace(",", ".").replace(" ", "")) <= 100000] + [
        row for row in rows if float(row[amount].replace(",", ".").replace(" ", "")) > 100000
    ][:2]
    replaced = write_csv(tabular_root.parent / "remplace.csv", [header, *kept], delimiter=";", encoding="windows-1252")
    services.submit_file(KEY, replaced, title="Subventions de la Somme")
    resource = TabularResource.objects.get(resource_key=KEY)
    assert resource.row_count == len(kept)
    assert client.get(url, query).json()["total"] == 2
    assert client.get(url, {**query, "page": 2, "sort": "montant"}).json()["total"] == 2
    # the preview page too
    assert "2 lignes" in client.get(f"/donnees/tableaux/{KEY}/", {"montant__gt": "100000"}).content.decode().replace("\u202f", " ")
