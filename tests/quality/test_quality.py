"""Schema registry, French validation reports, schema matching, quality score and link checker,
on the real SCDL schemas and examples of ../shared/standards/schemas."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from regio.quality import services
from regio.quality.demo import load_demo
from regio.quality.models import CheckedLink, TableSchema
from regio.quality.scoring import DatasetMeta, ResourceMeta, quality_score

SCHEMAS = Path(settings.SHARED_DIR) / "standards" / "schemas"
SUBVENTIONS = SCHEMAS / "scdl-subventions"

pytestmark = pytest.mark.django_db


class Out:
    def __init__(self):
        self.text = ""

    def write(self, s):
        self.text += s


@pytest.fixture
def registry():
    out = Out()
    load_demo(out)
    return out


def subventions() -> TableSchema:
    return TableSchema.objects.get(name="subventions")


def test_demo_registers_the_scdl_schemas_idempotently(registry):
    names = set(TableSchema.objects.values_list("name", flat=True))
    assert {"subventions", "budget", "deliberations", "equipements", "catalogue", "standard-mediation-num"} <= names
    count = TableSchema.objects.count()
    load_demo(Out())
    assert TableSchema.objects.count() == count
    assert subventions().field_names[:3] == ["nomAttribuant", "idAttribuant", "dateConvention"]
    assert "schéma ignoré scdl-marches-publics-legacy" in registry.text  # not a Table Schema: explained


def test_register_by_url_through_the_safe_client(shared_http_server, allow_private_http):
    schema = services.register_schema_from_url(f"{shared_http_server}/standards/schemas/scdl-budget/schema.json")
    assert schema.name == "budget" and schema.version == "0.8.3" and len(schema.field_names) == 22


def test_schema_url_that_is_not_json(shared_http_server, allow_private_http):
    with pytest.raises(services.SchemaError) as info:
        services.register_schema_from_url(f"{shared_http_server}/standards/schemas/scdl-subventions/exemple_valide.csv")
    assert "ne renvoie pas un document JSON" in str(info.value)
    assert "indiquez l'adresse du fichier schema.json lui-même" in str(info.value)


def test_json_that_is_not_a_table_schema(shared_http_server, allow_private_http):
    with pytest.raises(services.SchemaError, match="n'est pas un Table Schema : la liste « fields »"):
        services.register_schema_from_url(f"{shared_http_server}/standards/schemas/data-inclusion/v1/service.json")


def test_schema_url_refused_without_opt_in(shared_http_server):
    with pytest.raises(services.SchemaError, match="adresse privée, locale ou réservée"):
        services.register_schema_from_url(f"{shared_http_server}/standards/schemas/scdl-budget/schema.json")


def test_valid_example_is_valid(registry):
    report = services.validate_resource("r:1", SUBVENTIONS / "exemple_valide.csv", subventions())
    assert report.valid and report.error_count == 0 and report.row_count == 29


def test_cell_errors_by_row_and_column_in_french(registry):
    report = services.validate_resource("r:2", SUBVENTIONS / "exemple_invalide_erreurs_cellules.csv", subventions())
    assert not report.valid
    by_place = {(e["row"], e["column"]): e["message"] for e in report.errors}
    assert by_place[(2, "pourcentageSubvention")] == "La valeur « 100 » dépasse le maximum autorisé (1)."
    assert by_place[(5, "dateConvention")] == (
        "La valeur « 05/12/2016 » n'est pas une date au format AAAA-MM-JJ. Écrivez la date sous la forme AAAA-MM-JJ (ex. 2018-01-30)."
    )
    assert by_place[(5, "rnaBeneficiaire")].startswith("La valeur « W3222 » ne respecte pas le format attendu")
    assert by_place[(6, "montant")].endswith("Remplacez la virgule décimale par un point et retirez les espaces entre les milliers.")
    assert by_place[(None, "dispositifAide")] == "La colonne « dispositifAide » prévue par le schéma est absente du fichier."


def test_real_somme_file_windows_1252(registry):
    report = services.validate_resource("r:3", SUBVENTIONS / "real" / "DEP_Somme_TB_20180330_DONNEES_CONVENTIONS.csv", subventions())
    messages = [e["message"] for e in report.errors]
    assert "La colonne « datesPeriodeVersement » prévue par le schéma est absente du fichier." in messages
    assert any(m.startswith("La valeur « 137 825,00 » n'est pas un nombre décimal") for m in messages)
    assert any("Remplacez les barres obliques par des tirets" in m for m in messages)
    assert any(m.startswith("Le texte fait") and "au-delà des 256 autorisés" in m for m in messages)
    assert report.row_count == 11


def test_enum_errors_list_allowed_values_and_case_hint(registry):
    report = services.validate_resource("r:4", SUBVENTIONS / "real" / "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", subventions())
    nature = next(e["message"] for e in report.errors if e["column"] == "nature")
    assert nature.startswith("La valeur « Aide en numéraire » n'est pas dans la liste des valeurs autorisées : « aide en numéraire », « aide en nature »")
    assert nature.endswith("Attention aux majuscules : écrivez « aide en numéraire ».")


def test_report_page_lists_errors_in_french(client, registry):
    report = services.validate_resource("r:2", SUBVENTIONS / "exemple_invalide_erreurs_cellules.csv", subventions())
    html = client.get(f"/donnees/validation/{report.pk}/").content.decode()
    assert "Erreurs par ligne" in html and "dépasse le maximum autorisé (1)" in html
    assert "Ligne" in html and "pourcentageSubvention" in html


def test_header_matching_suggests_the_closest_schema(registry):
    import csv

    with open(SUBVENTIONS / "real" / "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv", encoding="utf-8") as handle:
        header = next(csv.reader(handle, delimiter=";"))
    ranked = services.match_schemas(header)
    assert ranked[0]["schema"].name == "subventions" and ranked[0]["score"] == 88  # 14 of 16 fields
    with open(SCHEMAS / "mediation-numerique" / "exemple-valide.csv", encoding="utf-8") as handle:
        assert services.match_schemas(next(csv.reader(handle)))[0]["schema"].name == "standard-mediation-num"
    assert services.match_schemas(["CODGEO", "LIBGEO", "ZE2020"]) == []


def test_normalised_names_match_despite_case_and_accents(registry):
    header = ["NOM_ATTRIBUANT", "idattribuant", "Date Convention"] + subventions().field_names[3:]
    assert services.match_schemas(header)[0]["score"] >= 90


# --------------------------------------------------------------------------- score


def complete_meta(**changes) -> DatasetMeta:
    meta = DatasetMeta(
        title="Subventions 2018",
        description="Liste des subventions attribuées par le Département de la Somme en 2018 " * 5,
        license="etalab-2.0",
        frequency="annual",
        last_update=timezone.now() - timedelta(days=100),
        resources=[ResourceMeta(url="https://exemple.fr/s.csv", format="csv", available=True, tabular=True, schema_declared=True, schema_valid=True)],
        temporal_start=date(2018, 1, 1),
        temporal_end=date(2018, 12, 31),
        spatial="departement:80",
    )
    for key, value in changes.items():
        setattr(meta, key, value)
    return meta


def test_complete_dataset_scores_100():
    result = quality_score(complete_meta())
    assert result.score == 100 and all(c.ok for c in result.criteria)
    assert [c.key for c in result.criteria] == ["description", "licence", "frequency", "reachable", "formats", "schema", "temporal", "spatial"]


def test_each_missing_criterion_costs_points_and_says_what_to_fix():
    empty = quality_score(DatasetMeta(title="x"))
    assert empty.score == 0
    fixes = {c.key: c.fix for c in empty.criteria}
    assert "Licence Ouverte 2.0" in fixes["licence"] and "fréquence" in fixes["frequency"]
    late = quality_score(complete_meta(last_update=timezone.now() - timedelta(days=800)))
    frequency = next(c for c in late.criteria if c.key == "frequency")
    assert late.score == 85 and "il y a 800 jours" in frequency.explanation
    broken = quality_score(complete_meta(resources=[ResourceMeta(url="https://exemple.fr/a.csv", format="csv", available=True, tabular=True, schema_declared=True, schema_valid=True), ResourceMeta(url="https://exemple.fr/b.xlsx", format="xlsx", available=False)]))
    reach = next(c for c in broken.criteria if c.key == "reachable")
    assert reach.points == 7.5 and "https://exemple.fr/b.xlsx" in reach.fix
    assert next(c for c in broken.criteria if c.key == "formats").explanation.endswith("(XLSX).")
    no_table = quality_score(complete_meta(resources=[ResourceMeta(url="https://exemple.fr/doc.pdf", format="geojson", available=True)]))
    assert no_table.score == 100 and not next(c for c in no_table.criteria if c.key == "schema").applicable
    short = quality_score(complete_meta(description="Trop court pour comprendre les données publiées."))
    assert short.score == 85 and "200 au moins" in next(c for c in short.criteria if c.key == "description").fix


# --------------------------------------------------------------------------- links


def test_link_checker_keeps_history(shared_http_server, allow_private_http):
    good = f"{shared_http_server}/standards/schemas/scdl-subventions/exemple_valide.csv"
    bad = f"{shared_http_server}/standards/schemas/absent.csv"
    for url in (good, bad):
        services.watch_link(url)
    assert services.check_due_links() == 2
    assert CheckedLink.objects.get(url=good).available is True
    broken = CheckedLink.objects.get(url=bad)
    assert broken.available is False and broken.last_status == 404 and "a répondu 404" in broken.last_error
    assert services.check_due_links() == 0  # not due again yet
    services.check_link(broken)
    broken.refresh_from_db()
    assert broken.checks.count() == 2 and broken.consecutive_failures == 2
    assert broken.next_check_at > timezone.now()


def test_link_api_and_periodic_task(client, shared_http_server, allow_private_http, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    from regio.quality.tasks import check_links_task

    url = f"{shared_http_server}/standards/README.md"
    services.watch_link(url)
    assert check_links_task.enqueue(False).return_value == 1
    data = client.get("/api/1/links", {"url": url}).json()
    assert data["available"] is True and len(data["history"]) == 1 and data["history"][0]["status_code"] == 200


def test_schema_registration_page_is_for_staff_only(client, registry):
    from regio.accounts.models import User

    response = client.post("/donnees/schemas/", {"url": "https://exemple.fr/schema.json"})
    assert response.status_code == 403
    cdo = User.objects.create_user(email="agd@exemple.fr", password="mot-de-passe-long-42", is_cdo=True, is_active=True)
    client.force_login(cdo)
    with open(SCHEMAS / "scdl-deliberations" / "schema.json", "rb") as handle:
        response = client.post("/donnees/schemas/", {"file": handle}, follow=True)
    assert "Schéma « Délibérations (2.1.5) » enregistré." in response.content.decode()
    response = client.post("/donnees/schemas/", {"file": open(SUBVENTIONS / "exemple_valide.csv", "rb")})
    assert "pas un document JSON valide" in response.content.decode()


def test_check_links_command(shared_http_server, allow_private_http):
    from io import StringIO

    from django.core.management import call_command

    services.watch_link(f"{shared_http_server}/standards/README.md")
    out = StringIO()
    call_command("check_links", stdout=out)
    assert out.getvalue().strip() == "1 lien(s) vérifié(s)."


def test_score_api_explains_each_criterion(client):
    payload = {
        "description": "Trop court.",
        "license": "etalab-2.0",
        "frequency": "monthly",
        "last_update": (timezone.now() - timedelta(days=10)).isoformat(),
        "resources": [{"url": "https://exemple.fr/a.xlsx", "format": "xlsx", "available": True, "tabular": True}],
        "spatial": "commune:80021",
    }
    response = client.post("/api/1/quality/score", payload, content_type="application/json")
    data = response.json()
    assert response.status_code == 200
    by_key = {c["key"]: c for c in data["criteria"]}
    assert by_key["licence"]["ok"] and by_key["frequency"]["ok"] and by_key["reachable"]["ok"]
    assert not by_key["formats"]["ok"] and "CSV" in by_key["formats"]["fix"]
    assert not by_key["schema"]["ok"] and "SCDL" in by_key["schema"]["fix"]
    assert data["score"] == round(100 * (15 + 15 + 15 + 5) / 100)
