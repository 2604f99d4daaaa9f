"""API, pages, permissions and command of the harvester."""

import io

import pytest
from django.core.management import call_command

from regio.core.ingest.engine import run_source
from regio.core.ingest.models import Run
from regio.harvest.models import HarvestSource
from tests.catalog.conftest import make_user, member_of

from .conftest import ckan_page_route, make_source, real_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def ckan_portal(portal):
    portal.json_route("/api/3/action/package_search", ckan_page_route(real_json("apis/ckan/datasud_package_search.json")["result"]["results"]))
    return portal


def test_api_lists_sources_and_runs(ckan_portal, somme, client):
    source = make_source("ckan", ckan_portal.base, owner=somme, schedule_minutes=1440, name="Portail de la Somme")
    run_source(source)
    data = client.get("/api/1/harvest/sources").json()
    assert set(data) >= {"data", "page", "page_size", "total", "next_page"}
    row = data["data"][0]
    assert row["kind"] == "ckan" and row["owner"]["name"] == somme.name and row["schedule_minutes"] == 1440
    assert row["last_run"]["status"] == "succeeded" and row["last_run"]["counts"]["created"] == 7
    assert row["datasets"] == 7
    runs = client.get(f"/api/1/harvest/sources/{source.pk}/runs").json()
    assert runs["total"] == 1 and runs["data"][0]["errors"] == []
    assert client.get("/api/1/harvest/sources/999999/runs").status_code == 404


def test_api_runs_show_item_errors_in_french(portal, amiens, client):
    bad = real_json("apis/ckan/demo.ckan.org_package_show_1.json")["result"]
    bad["license_id"] = "other-nc"  # CKAN's "Other (Non-Commercial)": a licence, but not one the catalogue accepts
    portal.json_route("/api/3/action/package_search", ckan_page_route([bad]))
    source = make_source("ckan", portal.base, owner=amiens)
    run_source(source)
    error = client.get(f"/api/1/harvest/sources/{source.pk}/runs").json()["data"][0]["errors"][0]
    assert error["field"] == "licence" and error["page"] == 1 and error["remote_id"] == bad["id"]
    assert error["description"].startswith("Licence non reconnue : « other-nc »")
    assert f"élément {bad['id']}" in error["description"] and "source « Portail ckan »" in error["description"]


def test_licence_not_specified_at_the_source_is_harvested_as_unspecified(portal, amiens, client):
    from regio.catalog.models import Dataset

    record = real_json("apis/ckan/demo.ckan.org_package_show_1.json")["result"]  # the real record: licence "notspecified"
    assert record["license_id"] == "notspecified"
    portal.json_route("/api/3/action/package_search", ckan_page_route([record]))
    source = make_source("ckan", portal.base, owner=amiens)
    run = run_source(source)
    assert (run.created, run.failed) == (1, 0), run.message
    ds = Dataset.objects.get(harvest_source=str(source.pk))
    assert ds.licence == "non-precisee"
    assert any(w.startswith("Licence non précisée par la source (« notspecified »)") for w in ds.harvest_origins.get().warnings)
    page = client.get(ds.get_absolute_url()).content.decode()
    assert "Licence non précisée par la source" in page
    api = client.get(f"/api/1/datasets/{ds.slug}").json()
    assert api["licence"] == {"id": "non-precisee", "title": "Licence non précisée par la source", "url": ""}


def test_public_list_and_detail(ckan_portal, somme, client):
    source = make_source("ckan", ckan_portal.base, owner=somme, name="Portail de la Somme")
    run_source(source)
    page = client.get("/moissonnage/").content.decode()
    assert "Portail de la Somme" in page and "Réussi" in page
    detail = client.get(f"/moissonnage/{source.pk}").content.decode()
    assert "Historique des passages" in detail and "Aperçu" not in detail  # anonymous: no management
    assert client.get(f"/moissonnage/{source.pk}/passages/{source.runs.get().pk}").status_code == 403


def test_organisation_admin_adds_previews_enables_and_runs(ckan_portal, amiens, somme, client):
    admin = member_of(make_user("admin@amiens.fr"), amiens, role="admin")
    editor = member_of(make_user("editeur@amiens.fr"), amiens, role="editor")
    client.force_login(editor)
    assert client.get("/moissonnage/nouvelle").status_code == 403
    client.force_login(admin)
    response = client.post("/moissonnage/nouvelle", {"name": "Portail d'Amiens", "kind": "ckan", "url": ckan_portal.base, "owner": somme.pk})
    assert response.status_code == 200 and "Sélectionnez un choix valide" in response.content.decode()  # not its organisation
    response = client.post("/moissonnage/nouvelle", {"name": "Portail d'Amiens", "kind": "ckan", "url": ckan_portal.base, "owner": amiens.pk})
    source = HarvestSource.objects.get(name="Portail d'Amiens")
    assert response.status_code == 302 and not source.enabled and source.owner == amiens
    preview = client.post(f"/moissonnage/{source.pk}/apercu").content.decode()
    assert "Canispaces - Ville de Gap" in preview and "création" in preview and "inconnu de la plateforme" in preview
    client.post(f"/moissonnage/{source.pk}/activation")
    source.refresh_from_db()
    assert source.enabled
    client.post(f"/moissonnage/{source.pk}/lancer")
    run = source.runs.get()
    assert run.status in (Run.Status.QUEUED, Run.Status.SUCCEEDED)
    other = make_source("ckan", ckan_portal.base, owner=somme)
    assert client.post(f"/moissonnage/{other.pk}/apercu").status_code == 403


def test_cdo_cancels_a_running_run(ckan_portal, somme, client):
    cdo = make_user("cdo@region.fr", is_cdo=True)
    client.force_login(cdo)
    source = make_source("ckan", ckan_portal.base, owner=somme)
    run = Run.objects.create(source=source, status=Run.Status.RUNNING)
    assert "Annuler le passage en cours" in client.get(f"/moissonnage/{source.pk}").content.decode()
    client.post(f"/moissonnage/{source.pk}/passages/{run.pk}/annuler")
    run.refresh_from_db()
    assert run.cancel_requested


def test_create_source_bad_input_in_french(somme):
    from django.core.exceptions import ValidationError

    from regio.harvest import services

    cdo = make_user("cdo2@region.fr", is_cdo=True)
    with pytest.raises(ValidationError) as exc:
        services.create_source(cdo, kind="sharepoint", name="", url="ftp://x", owner=None)
    errors = exc.value.message_dict
    assert "Type de source inconnu" in errors["kind"][0] and "obligatoire" in errors["name"][0]
    assert "http://" in errors["url"][0] and "propriétaire" in errors["owner"][0]


def test_harvest_run_command(ckan_portal, somme):
    source = make_source("ckan", ckan_portal.base, owner=somme)
    out = io.StringIO()
    call_command("harvest", "run", str(source.pk), stdout=out)
    assert "créés 7" in out.getvalue()
    out = io.StringIO()
    call_command("harvest", "list", stdout=out)
    assert "Réussi" in out.getvalue()
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="introuvable"):
        call_command("harvest", "run", "999999")
