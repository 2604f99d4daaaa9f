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
