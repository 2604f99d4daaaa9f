import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def harvested(site):
    from django.conf import settings

    from regio.accounts.models import Organisation
    from regio.core.ingest.engine import run_source
    from regio.harvest.models import HarvestSource

    somme = Organisation.objects.get(kind="departement", departement_id="80")
    source = HarvestSource.objects.create(
        kind="ckan", name="Portail DataSud (fichier)", owner=somme, enabled=True,
        file_path=str(settings.SHARED_DIR / "standards/apis/ckan/datasud_package_search.json"),
    )
    run = run_source(source)
    return {"source": source, "run": run, "owner": somme}


def test_harvest_public_pages_are_accessible(check_page, harvested):
    from regio.catalog.models import Dataset

    source = harvested["source"]
    page = check_page("/moissonnage/")
    assert "Portail DataSud (fichier)" in page.inner_text("main")
    page = check_page(f"/moissonnage/{source.pk}")
    assert "Historique des passages" in page.inner_text("main")
    dataset = Dataset.objects.get(title="Canispaces - Ville de Gap")
    page = check_page(f"/donnees/{dataset.slug}")
    assert "Moissonné depuis" in page.inner_text("main")


def test_harvest_manager_pages_are_accessible(check_page, harvested, page, site, client):
    from tests.catalog.conftest import make_user, member_of

    admin = member_of(make_user("admin@somme.fr"), harvested["owner"], role="admin")
    client.force_login(admin)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}])
    source = harvested["source"]
    check_page("/moissonnage/nouvelle")
    check_page(f"/moissonnage/{source.pk}/passages/{harvested['run'].pk}")
    page = check_page(f"/moissonnage/{source.pk}/modifier")
    assert "Modifier la source" in page.inner_text("main")
    page = check_page(f"/moissonnage/{source.pk}/supprimer")
    assert "Confirmer la suppression" in page.inner_text("main")
    page = check_page(f"/moissonnage/{source.pk}")
    page.get_by_role("button", name="Aperçu (simulation)").click()
    page.wait_for_url(f"**/moissonnage/{source.pk}/apercu")
    assert "Canispaces - Ville de Gap" in page.inner_text("main")
