import io

import pytest

from regio.catalog import selectors
from regio.catalog.demo import load_demo, real_records, schema_records
from regio.catalog.models import Dataset

pytestmark = pytest.mark.django_db


def test_real_records_are_read_from_shared_standards():
    records = real_records()
    titles = {r["title"] for r in records}
    assert "Base Adresse Nationale" in titles  # data.gouv.fr (udata fixture)
    assert "Parcs de stationnement de la Ville de Gap" in titles  # DataSud (CKAN package_search)
    assert all(r["resources"] for r in records if r["source"] == "datasud.fr")
    schemas = schema_records()
    assert {s["conforms_to"] for s in schemas} >= {"https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"}


def test_demo_is_idempotent_and_published_by_real_collectivites():
    out = io.StringIO()
    load_demo(out)
    count = Dataset.objects.count()
    assert count > 30
    load_demo(out)
    assert Dataset.objects.count() == count
    kinds = set(Dataset.objects.values_list("publisher__kind", flat=True))
    assert kinds <= {"region", "departement", "epci", "commune"} and "commune" in kinds
    found = selectors.search_datasets("subvention")
    assert found.total >= 4
    assert all("Subventions" in d.title for d in list(found.queryset)[:4])
    assert any(f["value"].startswith("https://gitlab.com/opendatafrance/scdl/") for f in found.facets["schema"])
