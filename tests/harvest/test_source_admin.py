"""Editing and deleting a harvest source: the CDO or the owner's admins only; deleting keeps every dataset."""

import json

import pytest

from regio.catalog.models import Dataset
from regio.core.ingest.engine import SourceDeleted, run_source
from regio.core.models import PublicationStatus
from regio.harvest.models import HarvestSource
from tests.catalog.conftest import make_user, member_of

from .conftest import ckan_page_route, make_source, real_json

pytestmark = pytest.mark.django_db


@pytest.fixture
def harvested(portal, somme):
    packages = real_json("apis/ckan/datasud_package_search.json")["result"]["results"]
    portal.json_route("/api/3/action/package_search", ckan_page_route(packages))
    source = make_source("ckan", portal.base, owner=somme, name="Portail de la Somme", schedule_minutes=1440, enabled=True)
    run_source(source)
    return source


def test_owner_admin_edits_url_schedule_filters_owner_and_enabled(harvested, somme, client):
    admin = member_of(make_user("admin@somme.fr"), somme, role="admin")
    client.force_login(admin)
    page = client.get(f"/moissonnage/{harvested.pk}/modifier").content.decode()
    assert "Modifier la source « Portail de la Somme »" in page and 'value="1440"' in page
    response = client.post(f"/moissonnage/{harvested.pk}/modifier", {
        "name": "Portail départemental", "url": "https://data.somme.fr", "owner": somme.pk, "schedule_minutes": "",
        "schedule_cron": "30 2", "filters": json.dumps({"organization": "departement-somme", "page_size": 50}),
    })
    assert response.status_code == 302
    source = HarvestSource.objects.get(pk=harvested.pk)
    assert (source.name, source.url, source.schedule_minutes, source.schedule_cron) == ("Portail départemental", "https://data.somme.fr", None, "30 2")
    assert source.filters == {"organization": "departement-somme", "page_size": 50} and source.enabled is False


def test_cdo_hands_a_source_to_another_organisation(harvested, amiens, client):
    client.force_login(make_user("cdo@region.fr", is_cdo=True))
    response = client.post(f"/moissonnage/{harvested.pk}/modifier", {
        "name": harvested.name, "url": harvested.url, "owner": amiens.pk, "filters": "", "enabled": "on",
    })
    assert response.status_code == 302
    source = HarvestSource.objects.get(pk=harvested.pk)
    assert source.owner == amiens and source.enabled


def test_edit_bad_input_in_french(harvested, somme, amiens, client):
    admin = member_of(make_user("admin@somme.fr"), somme, role="admin")
    client.force_login(admin)
    data = {"name": "", "url": "ftp://data.somme.fr", "owner": somme.pk, "schedule_cron": "tous les jours", "filters": "{organization: x}"}
    page = client.post(f"/moissonnage/{harvested.pk}/modifier", data).content.decode()
    assert "JSON invalide" in page and "L&#x27;adresse doit commencer par http:// ou https://." in page
    assert "Planification invalide" in page and "Ce champ est obligatoire." in page
    page = client.post(f"/moissonnage/{harvested.pk}/modifier", {**data, "name": "x", "url": "", "schedule_cron": "", "filters": "[1, 2]"}).content.decode()
    assert "Les filtres doivent être un objet JSON" in page
    # an admin of the Somme cannot give the source to Amiens, which it does not administer
    page = client.post(f"/moissonnage/{harvested.pk}/modifier", {**data, "name": "x", "url": "", "schedule_cron": "", "filters": "", "owner": amiens.pk}).content.decode()
    assert "Sélectionnez un choix valide" in page
    assert HarvestSource.objects.get(pk=harvested.pk).owner == somme


def test_service_refuses_an_owner_the_user_does_not_administer(harvested, somme, amiens):
    from django.core.exceptions import ValidationError

    from regio.harvest import services

    admin = member_of(make_user("admin@somme.fr"), somme, role="admin")
    with pytest.raises(ValidationError) as exc:
        services.update_source(admin, harvested, name="x", url="https://x.fr", owner=amiens, schedule_minutes=5,
                               schedule_cron="", filters={}, enabled=True)
    errors = exc.value.message_dict
    assert "Vous n'administrez pas" in errors["owner"][0] and "au moins 15 minutes" in errors["schedule_minutes"][0]


@pytest.mark.parametrize("who", ["editor", "other_admin", "member"])
def test_others_get_403_on_edit_and_delete(harvested, somme, amiens, client, who):
    user = make_user(f"{who}@exemple.fr")
    if who == "editor":
        member_of(user, somme, role="editor")
    elif who == "other_admin":
        member_of(user, amiens, role="admin")
    else:
        member_of(user, somme, role="member")
    client.force_login(user)
    for path in ("modifier", "supprimer"):
        assert client.get(f"/moissonnage/{harvested.pk}/{path}").status_code == 403
        assert client.post(f"/moissonnage/{harvested.pk}/{path}", {"name": "pirate", "url": "https://x.fr", "owner": amiens.pk}).status_code == 403
    source = HarvestSource.objects.get(pk=harvested.pk)
    assert source.name == "Portail de la Somme" and source.deleted_at is None
    assert "Modifier la source" not in client.get(f"/moissonnage/{harvested.pk}").content.decode()


def test_anonymous_is_sent_to_login(harvested, client):
    for path in ("modifier", "supprimer"):
        response = client.post(f"/moissonnage/{harvested.pk}/{path}")
        assert response.status_code == 302 and "connexion" in response["Location"] or "login" in response["Location"]
    assert HarvestSource.objects.get(pk=harvested.pk).deleted_at is None


def test_delete_keeps_every_dataset_flagged_as_no_longer_updated(harvested, somme, client):
    admin = member_of(make_user("admin@somme.fr"), somme, role="admin")
    client.force_login(admin)
    page = client.get(f"/moissonnage/{harvested.pk}/supprimer").content.decode()
    assert "ses 7 jeu(x) de données restent publiés" in page
    response = client.post(f"/moissonnage/{harvested.pk}/supprimer")
    assert response.status_code == 302 and response["Location"].endswith("/moissonnage/")
    datasets = Dataset.objects.filter(harvest_source=str(harvested.pk))
    assert datasets.count() == 7 and all(d.status == PublicationStatus.PUBLISHED for d in datasets)
    source = HarvestSource.all_objects.get(pk=harvested.pk)
    assert source.deleted_at is not None and not source.enabled and source.runs.count() == 1  # history kept
    assert not HarvestSource.objects.filter(pk=harvested.pk).exists()
    assert client.get(f"/moissonnage/{harvested.pk}").status_code == 404
    assert "Portail de la Somme" not in client.get("/moissonnage/").content.decode()
    assert client.get("/api/1/harvest/sources").json()["total"] == 0
    ds = datasets.first()
    origin = ds.harvest_origins.get()
    assert origin.orphaned and origin.is_stale and origin.archived_at is None
    page = client.get(ds.get_absolute_url()).content.decode()
    assert "source retirée du moissonnage le" in page and "plus mis à jour" in page
    with pytest.raises(SourceDeleted, match="a été supprimée"):
        run_source(HarvestSource.all_objects.get(pk=harvested.pk))
    assert not source.is_due()


def test_deleting_the_primary_source_hands_datasets_to_the_other_one(portal, somme, amiens):
    import copy

    packages = real_json("apis/ckan/datasud_package_search.json")["result"]["results"][:2]
    for p in packages:
        p["extras"] = [{"key": "uri", "value": f"https://data.amiens.fr/dataset/{p['name']}"}]
        p["organization"]["title"] = amiens.name
    portal.json_route("/commune/api/3/action/package_search", ckan_page_route(packages))
    reexposed = copy.deepcopy(packages)
    for p in reexposed:
        p["id"] = "dep-" + p["id"]
        p["title"] += " (département)"
    portal.json_route("/departement/api/3/action/package_search", ckan_page_route(reexposed))
    com = make_source("ckan", portal.base + "/commune", owner=amiens, name="Portail d'Amiens")
    dep = make_source("ckan", portal.base + "/departement", owner=somme, name="Portail de la Somme")
    run_source(com)
    run_source(dep)
    from regio.harvest import services

    services.delete_source(make_user("cdo@region.fr", is_cdo=True), com)
    ds = Dataset.objects.get(harvest_origins__remote_id=packages[0]["id"])
    assert ds.harvest_source == str(dep.pk) and ds.harvest_origins.get(source=dep).primary
    run_source(dep)  # the département's portal now updates it
    ds.refresh_from_db()
    assert ds.title.endswith("(département)") and Dataset.objects.filter(origin="harvested").count() == 2
