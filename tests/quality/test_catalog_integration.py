"""The tabular service and the quality app plugged into the catalogue, on the real SCDL files."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from regio.catalog import selectors as catalog_selectors
from regio.catalog import services as catalog
from regio.quality.catalog_link import refresh_dataset_quality
from regio.quality.models import DatasetQuality, LinkCheck, ValidationReport
from regio.quality.services import check_link
from regio.tabular.models import Status, TabularResource
from tests.catalog.conftest import make_user, member_of

pytestmark = pytest.mark.django_db

SCHEMAS = Path(settings.SHARED_DIR) / "standards" / "schemas"
SUBVENTIONS = SCHEMAS / "scdl-subventions"
VALIDE = SUBVENTIONS / "exemple_valide.csv"
ERREURS = SUBVENTIONS / "exemple_invalide_erreurs_cellules.csv"
HAUTE_GARONNE = SUBVENTIONS / "real" / "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv"
SUBVENTIONS_SCHEMA_URL = "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"


class _Out:
    def write(self, s):
        pass


@pytest.fixture
def env(settings, tmp_path):
    """Conversions and validations run at once; files under a temporary folder; SCDL schemas registered."""
    from regio.quality.demo import load_demo

    settings.TABULAR_ROOT = tmp_path / "tabular"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    load_demo(_Out())


@pytest.fixture
def publisher_agent(amiens):
    return member_of(make_user("donnees@amiens.fr"), amiens)


def make_dataset(user, org, **extra):
    data = {
        "title": "Subventions aux associations", "licence": "lov2", "frequency": "ANNUAL",
        "description": "Subventions versées par la commune aux associations, au format SCDL. " * 5,
        **extra,
    }
    return catalog.create_dataset(user, org, data, publish=True)


def upload(user, dataset, path: Path, title: str, *, name: str | None = None, content: bytes | None = None, **extra):
    data = content if content is not None else path.read_bytes()
    return catalog.add_resource(user, dataset, title=title, upload=SimpleUploadedFile(name or path.name, data, "text/csv"), **extra)


def tab_of(resource) -> TabularResource:
    return TabularResource.objects.get(resource_key=f"catalog.resource:{resource.pk}")


def test_uploaded_file_is_converted_validated_and_scored(env, publisher_agent, amiens, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens, conforms_to=SUBVENTIONS_SCHEMA_URL)
        resource = upload(publisher_agent, dataset, VALIDE, "Subventions 2024")
    tab = tab_of(resource)
    assert tab.status == Status.READY and tab.row_count > 0
    report = ValidationReport.objects.get(resource_key=f"catalog.resource:{resource.pk}")
    assert report.valid and report.schema.name == "subventions"
    quality = DatasetQuality.objects.get(dataset=dataset)
    schema = next(c for c in quality.criteria if c["key"] == "schema")
    assert schema["points"] == 15
    # The interface: the plain catalogue resource id.
    data = client.get(f"/api/1/resources/{resource.pk}/data/?page_size=2").json()
    assert data["total"] == tab.row_count and len(data["data"]) == 2
    assert client.get(f"/api/1/resources/catalog.resource:{resource.pk}/data/").status_code == 200
    sql = client.get(f"/api/1/resources/{resource.pk}/sql", {"q": "SELECT count(*) AS n FROM data"}).json()
    assert sql["data"] == [{"n": tab.row_count}]
    refused = client.get(f"/api/1/resources/{resource.pk}/sql", {"q": "SELECT * FROM read_csv('/etc/passwd')"})
    assert refused.status_code == 400 and refused["Content-Type"].startswith("application/problem+json")
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Aperçu des données" in page and f"/donnees/tableaux/catalog.resource:{resource.pk}/" in page
    assert f"/api/1/resources/{resource.pk}/download?format=parquet" in page and "format=xlsx" in page
    assert "Conforme au schéma" in page and f"/donnees/validation/{report.pk}/" in page
    assert f"Qualité des métadonnées : {quality.score}/100" in page
    assert client.get(f"/donnees/tableaux/catalog.resource:{resource.pk}/").status_code == 200


def test_a_bad_file_does_not_affect_the_other_resources(env, publisher_agent, amiens, client, django_capture_on_commit_callbacks):
    rows = ERREURS.read_text(encoding="utf-8").splitlines()
    ragged = "\n".join(rows[:3] + [rows[3] + ",en trop"] + rows[4:]).encode()
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens, conforms_to=SUBVENTIONS_SCHEMA_URL)
        good = upload(publisher_agent, dataset, VALIDE, "Fichier conforme")
        junk = upload(publisher_agent, dataset, VALIDE, "Fichier binaire", name="binaire.csv", content=bytes(range(256)) * 64)
        irregular = upload(publisher_agent, dataset, VALIDE, "Fichier irrégulier", name="irregulier.csv", content=ragged)
        errors = upload(publisher_agent, dataset, ERREURS, "Fichier avec erreurs")
    assert tab_of(good).status == Status.READY
    assert tab_of(errors).status == Status.READY
    assert tab_of(junk).status == Status.FAILED
    assert tab_of(junk).error.startswith("Le fichier n'est pas un fichier texte CSV")
    assert tab_of(irregular).status == Status.FAILED
    assert "colonnes trouvées au lieu de" in tab_of(irregular).error
    reports = {r.resource_key: r for r in ValidationReport.objects.all()}
    assert reports[f"catalog.resource:{good.pk}"].valid
    assert not reports[f"catalog.resource:{errors.pk}"].valid and reports[f"catalog.resource:{errors.pk}"].error_count > 0
    assert f"catalog.resource:{junk.pk}" not in reports
    assert client.get(f"/api/1/resources/{good.pk}/data/").status_code == 200
    assert client.get(f"/api/1/resources/{junk.pk}/data/").status_code == 409
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "La conversion a échoué : Le fichier n&#x27;est pas un fichier texte CSV" in page
    assert "Validation impossible : le fichier n&#x27;a pas pu être lu" in page
    assert "Conforme au schéma" in page and "erreurs par rapport au schéma" in page


def test_url_resource_is_downloaded_through_the_safe_client(
    env, settings, publisher_agent, amiens, shared_http_server, allow_private_http, django_capture_on_commit_callbacks
):
    settings.TABULAR_CATALOG_DOWNLOADS = True
    url = f"{shared_http_server}/standards/schemas/scdl-subventions/real/{HAUTE_GARONNE.name}"
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens)
        resource = catalog.add_resource(publisher_agent, dataset, title="Subventions (lien)", url=url, schema=SUBVENTIONS_SCHEMA_URL)
    tab = tab_of(resource)
    assert tab.status == Status.READY and tab.source == url
    report = ValidationReport.objects.get(resource_key=f"catalog.resource:{resource.pk}")
    assert not report.valid and report.row_count > 0  # real file: dates and amounts not in SCDL form


def test_url_resources_are_not_downloaded_when_disabled(env, publisher_agent, amiens, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens)
        resource = catalog.add_resource(publisher_agent, dataset, title="Distant", url="https://exemple.invalid/donnees.csv")
    assert not TabularResource.objects.filter(resource_key=f"catalog.resource:{resource.pk}").exists()
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "les fichiers distants ne sont pas téléchargés" in page


def test_changed_resource_is_converted_again(env, publisher_agent, amiens, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens)
        resource = upload(publisher_agent, dataset, VALIDE, "Subventions")
    first = tab_of(resource).converted_at
    with django_capture_on_commit_callbacks(execute=True):
        resource.title = "Subventions (corrigé)"
        resource.save()
    assert tab_of(resource).converted_at > first
    resource_id = resource.pk
    resource.delete()
    assert not TabularResource.objects.filter(resource_key=f"catalog.resource:{resource_id}").exists()


def test_publisher_is_offered_to_declare_the_matching_schema(env, publisher_agent, amiens, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens)
        resource = upload(publisher_agent, dataset, HAUTE_GARONNE, "Subventions sans schéma")
    anonymous = client.get(dataset.get_absolute_url()).content.decode()
    assert "Schéma le plus proche d'après les en-têtes" in anonymous
    assert "Pas de validation : aucun schéma de données n&#x27;est déclaré" in anonymous
    assert "Déclarer ce schéma" not in anonymous
    action = f"/donnees/ressources/{resource.pk}/declarer-schema"
    outsider = make_user("curieux@exemple.fr")
    client.force_login(outsider)
    assert client.post(action, {"schema": "subventions-211"}).status_code == 403
    client.force_login(publisher_agent)
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Déclarer ce schéma" in page and action in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(action, {"schema": "subventions-211"})
    assert response.status_code == 302
    resource.refresh_from_db()
    assert resource.schema == SUBVENTIONS_SCHEMA_URL
    report = ValidationReport.objects.get(resource_key=f"catalog.resource:{resource.pk}")
    assert report.schema.slug == "subventions-211" and not report.valid
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Déclarer ce schéma" not in page and f"/donnees/validation/{report.pk}/" in page


def test_undeclared_schema_url_is_explained(env, publisher_agent, amiens, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens, conforms_to="https://exemple.fr/schemas/inconnu/schema.json")
        upload(publisher_agent, dataset, VALIDE, "Subventions")
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "n&#x27;est pas dans le registre des schémas" in page


def test_broken_link_shown_on_dataset_and_publisher_pages(
    env, publisher_agent, amiens, client, shared_http_server, allow_private_http, django_capture_on_commit_callbacks
):
    ok_url = f"{shared_http_server}/standards/schemas/scdl-subventions/exemple_valide.csv"
    broken_url = f"{shared_http_server}/standards/schemas/scdl-subventions/disparu.csv"
    with django_capture_on_commit_callbacks(execute=True):
        dataset = make_dataset(publisher_agent, amiens)
        catalog.add_resource(publisher_agent, dataset, title="Lien valide", url=ok_url)
        catalog.add_resource(publisher_agent, dataset, title="Lien disparu", url=broken_url)
    from regio.quality.services import check_due_links

    assert check_due_links() == 2
    check_link(broken_url)
    assert LinkCheck.objects.filter(link__url=broken_url, ok=False).count() == 2
    quality = DatasetQuality.objects.get(dataset=dataset)
    reachable = next(c for c in quality.criteria if c["key"] == "reachable")
    assert reachable["points"] == 7.5 and broken_url in reachable["fix"]
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Lien cassé" in page and "2 vérifications, 2 échecs" in page
    publisher_page = client.get(f"/donnees/producteurs/{amiens.slug}").content.decode()
    assert "Liens cassés" in publisher_page and broken_url in publisher_page


def test_quality_score_is_a_facet_a_sort_and_shown_on_publisher_pages(env, publisher_agent, amiens, client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        good = make_dataset(publisher_agent, amiens, conforms_to=SUBVENTIONS_SCHEMA_URL, temporal_start="2024-01-01")
        upload(publisher_agent, good, VALIDE, "Subventions")
        poor = catalog.create_dataset(publisher_agent, amiens, {"title": "Notes en vrac", "licence": "lov2"}, publish=True)
    scores = {d: DatasetQuality.objects.get(dataset=d).score for d in (good, poor)}
    assert scores[good] >= 80 and scores[poor] < 50
    result = catalog_selectors.search_datasets("", {}, "quality")
    assert list(result.queryset)[:2] == [good, poor]
    buckets = {item["value"]: item["count"] for item in result.facets["quality"]}
    assert buckets["80-100"] >= 1 and buckets["0-49"] >= 1
    only_good = catalog_selectors.search_datasets("", {"quality": "80-100"}, "")
    assert good in only_good.queryset and poor not in only_good.queryset
    api = client.get("/api/1/datasets", {"quality": "0-49", "facets": "true"}).json()
    assert poor.slug in [d["slug"] for d in api["data"]] and good.slug not in [d["slug"] for d in api["data"]]
    search_page = client.get("/donnees/", {"quality": "80-100"}).content.decode()
    assert "Qualité" in search_page and good.title in search_page
    publisher_page = client.get(f"/donnees/producteurs/{amiens.slug}").content.decode()
    assert "Score de qualité moyen" in publisher_page and f"{scores[poor]}/100" in publisher_page
    # A metadata change is scored again.
    with django_capture_on_commit_callbacks(execute=True):
        catalog.update_dataset(publisher_agent, poor, {"description": "Une description détaillée. " * 20})
    assert DatasetQuality.objects.get(dataset=poor).score > scores[poor]


def test_demo_attaches_converted_and_validated_scdl_files(settings, tmp_path):
    from regio.catalog.demo import load_demo as load_catalog
    from regio.quality.demo import MEDIATION_SLUG, load_catalog_demo
    from regio.quality.demo import load_demo as load_schemas

    settings.TABULAR_ROOT = tmp_path / "tabular"
    settings.MEDIA_ROOT = tmp_path / "media"
    load_schemas(_Out())
    load_catalog(_Out())
    load_catalog_demo(_Out())
    keys = list(TabularResource.objects.filter(resource_key__startswith="catalog.resource:").values_list("resource_key", "status"))
    assert len(keys) == 5 and all(status == Status.READY for _k, status in keys)
    reports = ValidationReport.objects.filter(resource_key__in=[k for k, _s in keys])
    assert reports.count() == 4 and reports.filter(valid=True).count() == 1
    mediation = catalog_selectors.get_public_dataset(MEDIATION_SLUG)
    assert DatasetQuality.objects.filter(dataset=mediation).exists()
    load_catalog_demo(_Out())  # idempotent
    assert TabularResource.objects.filter(resource_key__startswith="catalog.resource:").count() == 5
    assert ValidationReport.objects.filter(resource_key__startswith="catalog.resource:").count() == 4


def test_score_recomputed_for_every_dataset_on_demand(env, publisher_agent, amiens):
    dataset = make_dataset(publisher_agent, amiens)
    quality = refresh_dataset_quality(dataset)
    assert 0 <= quality.score <= 100 and {c["key"] for c in quality.criteria} >= {"description", "licence", "reachable"}
