"""Preview, schema registry and validation report pages: French, accessible (axe), no third party."""

import pytest

pytestmark = pytest.mark.browser


class _Out:
    def write(self, s):
        pass


@pytest.fixture
def demo_tables(site, settings, tmp_path):
    settings.TABULAR_ROOT = tmp_path / "tabular"
    from regio.quality.demo import load_demo as load_schemas
    from regio.quality.models import ValidationReport
    from regio.tabular.demo import load_demo as load_tables

    load_schemas(_Out())
    load_tables(_Out())
    return ValidationReport.objects.get(resource_key="demo.scdl:subventions-erreurs")


def test_tabular_and_quality_pages_are_accessible(check_page, demo_tables):
    for path in [
        "/donnees/tableaux/",
        "/donnees/tableaux/demo.scdl:subventions-somme/",
        "/donnees/tableaux/demo.scdl:subventions-somme/?sort=-montant&montant__gt=100000",
        "/donnees/schemas/",
        "/donnees/schemas/subventions-211/",
        f"/donnees/validation/{demo_tables.pk}/",
    ]:
        check_page(path)


def test_sort_and_filter_from_the_preview_by_keyboard(check_page, demo_tables):
    page = check_page("/donnees/tableaux/demo.scdl:subventions-somme/")
    page.select_option("#filtre-colonne", "type")
    page.select_option("#filtre-operateur", "exact")
    page.fill("#filtre-valeur", "fonctionnement")
    page.press("#filtre-valeur", "Enter")
    page.wait_for_url("**filtre_valeur=fonctionnement**")
    assert "5 lignes correspondant aux filtres" in page.inner_text("caption#donnees-caption")
    page.click("th >> text=montant")
    page.wait_for_url("**sort=montant**")
    assert page.get_attribute("th:has-text('montant')", "aria-sort") == "ascending"
    assert page.locator("svg.histogram").count() >= 1


@pytest.fixture
def catalog_dataset(site, settings, tmp_path):
    """A catalogue dataset with two real SCDL files (one conforming, one with errors) and a broken link."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from regio.accounts.models import Membership, Organisation, User
    from regio.catalog import services
    from regio.quality.demo import load_demo as load_schemas
    from regio.quality.services import check_link

    settings.TABULAR_ROOT = tmp_path / "tabular"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.HTTP_ALLOW_PRIVATE = True
    load_schemas(_Out())
    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    agent = User.objects.create_user("donnees@amiens.fr", "mot-de-passe-solide-123", is_active=True)
    Membership.objects.create(user=agent, organisation=amiens, role="editor", status="active")
    dataset = services.create_dataset(
        agent, amiens,
        {"title": "Subventions aux associations", "licence": "lov2", "frequency": "ANNUAL",
         "description": "Subventions versées aux associations, au format du socle commun des données locales. " * 3,
         "conforms_to": "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"},
        publish=True,
    )
    root = settings.SHARED_DIR / "standards" / "schemas" / "scdl-subventions"
    resources = []
    for name, title in (("exemple_valide.csv", "Subventions 2024"), ("exemple_invalide_erreurs_cellules.csv", "Subventions 2023")):
        upload = SimpleUploadedFile(name, (root / name).read_bytes(), "text/csv")
        resources.append(services.add_resource(agent, dataset, title=title, upload=upload))
    broken = services.add_resource(agent, dataset, title="Ancienne version", url=f"{site.url}/fichier-disparu.csv", format="html")
    check_link(broken.url)
    return dataset, resources


def test_dataset_page_with_preview_is_accessible(check_page, catalog_dataset):
    dataset, resources = catalog_dataset
    page = check_page(dataset.get_absolute_url())
    assert page.get_by_role("heading", name="Aperçu des données").is_visible()
    assert "Conforme au schéma" in page.content() and "Lien cassé" in page.content()
    page.get_by_role("link", name="Explorer les données de Subventions 2024 (tri, filtres, profil des colonnes, histogrammes)").click()
    page.wait_for_url(f"**/donnees/tableaux/catalog.resource:{resources[0].pk}/")
    check_page(f"/donnees/tableaux/catalog.resource:{resources[0].pk}/")
    check_page(f"/donnees/producteurs/{dataset.publisher.slug}")
    check_page("/donnees/?quality=80-100&sort=quality")


@pytest.fixture
def remote_dataset(site, settings, tmp_path, shared_http_server):
    """A dataset with a real SCDL file given by URL, converted, then checked twice for a new version:
    once unchanged (304 to the conditional request), once while the remote server failed."""
    from regio.accounts.models import Membership, Organisation, User
    from regio.catalog import services
    from regio.tabular.models import RemoteCheck, TabularResource
    from regio.tabular.services import check_remote_source

    settings.TABULAR_ROOT = tmp_path / "tabular"
    settings.HTTP_ALLOW_PRIVATE = True
    settings.TABULAR_CATALOG_DOWNLOADS = True
    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    agent = User.objects.create_user("donnees@amiens.fr", "mot-de-passe-solide-123", is_active=True)
    Membership.objects.create(user=agent, organisation=amiens, role="editor", status="active")
    dataset = services.create_dataset(
        agent, amiens, {"title": "Subventions (fichier distant)", "licence": "lov2", "description": "Subventions versées. " * 10},
        publish=True,
    )
    url = f"{shared_http_server}/standards/schemas/scdl-subventions/exemple_valide.csv"
    resource = services.add_resource(agent, dataset, title="Subventions 2024", url=url, format="csv")
    tab = TabularResource.objects.get(resource_key=f"catalog.resource:{resource.pk}")
    assert check_remote_source(tab).outcome == RemoteCheck.Outcome.UNCHANGED
    # The same server now answers 404 for that file (simulated by pointing the check elsewhere).
    TabularResource.objects.filter(pk=tab.pk).update(source=f"{shared_http_server}/standards/schemas/scdl-subventions/disparu.csv")
    assert check_remote_source(TabularResource.objects.get(pk=tab.pk)).outcome == RemoteCheck.Outcome.FAILED
    return dataset


def test_remote_file_history_on_the_dataset_page_is_accessible(check_page, remote_dataset):
    page = check_page(remote_dataset.get_absolute_url())
    assert "Le fichier distant n'a pas pu être téléchargé" in page.content()
    page.get_by_text("Historique des vérifications du fichier distant").click()
    history = page.get_by_role("region", name="Historique des vérifications de Subventions 2024")
    assert history.is_visible() and history.get_by_role("table", name="2 dernières vérifications").is_visible()
    assert "Téléchargement impossible (version précédente conservée)" in history.inner_text()
