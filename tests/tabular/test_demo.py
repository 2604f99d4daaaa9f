import pytest

from regio.quality.demo import load_demo as load_schemas
from regio.quality.models import ValidationReport
from regio.tabular.demo import SAMPLES
from regio.tabular.demo import load_demo as load_tables
from regio.tabular.models import Status, TabularResource

pytestmark = pytest.mark.django_db


class Out:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


def test_demo_converts_and_validates_the_scdl_samples_idempotently(tabular_root, client):
    load_schemas(Out())
    load_tables(Out())
    ready = TabularResource.objects.filter(status=Status.READY)
    assert ready.count() == len(SAMPLES)
    paths = dict(ready.values_list("resource_key", "parquet_path"))
    reports = {r.resource_key: r for r in ValidationReport.objects.all()}
    assert reports["demo.scdl:subventions-exemple"].valid
    assert not reports["demo.scdl:subventions-erreurs"].valid
    assert not reports["demo.scdl:subventions-somme"].valid
    assert reports["demo.scdl:mediation-numerique"].schema.name == "standard-mediation-num"
    load_schemas(Out())
    load_tables(Out())
    assert dict(TabularResource.objects.values_list("resource_key", "parquet_path")) == paths  # not converted again
    assert ValidationReport.objects.count() == len(reports)
    html = client.get("/donnees/tableaux/demo.scdl:subventions-somme/").content.decode()
    assert "Voir le rapport de validation" in html
