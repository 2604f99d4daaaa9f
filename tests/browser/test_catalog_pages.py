import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def catalogue(site):
    from regio.accounts.models import Organisation
    from regio.catalog import services
    from tests.catalog.conftest import make_user, member_of

    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    agent = member_of(make_user("agent@amiens.fr"), amiens)
    ds = services.create_dataset(agent, amiens, {
        "title": "Subventions versées aux associations", "licence": "lov2", "themes": ["ECON"],
        "keywords": ["subventions"], "description": "## Contenu\n\nMontants **attribués** en 2024.\n\n- Bénéficiaire\n- Montant",
        "conforms_to": "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json",
        "temporal_start": "2024-01-01", "temporal_end": "2024-12-31",
    }, publish=True)
    services.add_resource(agent, ds, title="Subventions 2024", url="https://data.amiens.fr/subventions-2024.csv", size=2048)
    services.open_discussion(agent, ds, title="Colonne vide", body="La colonne objet est vide.")
    reuse = services.create_reuse(agent, {"title": "Carte des associations subventionnées", "url": "https://carto.example.fr/asso",
                                          "kind": "visualization", "description": "Une carte des montants."}, [ds], amiens)
    return {"dataset": ds, "agent": agent, "reuse": reuse}


def test_catalogue_pages_are_accessible(check_page, catalogue):
    slug = catalogue["dataset"].slug
    for path in ["/donnees/", "/donnees/?q=subvention&theme=ECON", f"/donnees/{slug}", "/donnees/producteurs/amiens-80021",
                 "/donnees/reutilisations/", f"/donnees/reutilisations/{catalogue['reuse'].slug}"]:
        check_page(path)


def test_search_by_keyboard_and_facet(check_page, catalogue):
    page = check_page("/donnees/")
    page.fill("#catalog-q", "subvention")
    page.press("#catalog-q", "Enter")
    page.wait_for_url("**/donnees/?q=subvention**")
    assert "Subventions versées aux associations" in page.inner_text("main")
    page.get_by_role("link", name="Économie et finances (1)").click()
    page.wait_for_url("**theme=ECON**")
    assert page.locator(".card").count() == 1


def test_forms_are_accessible_for_members(check_page, catalogue, page, site):
    page.goto(site.url + "/compte/connexion")
    page.fill("input[name=username]", "agent@amiens.fr")
    page.fill("input[name=password]", "mot-de-passe-solide-123")
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    slug = catalogue["dataset"].slug
    assert check_page("/donnees/nouveau").inner_text("h1") == "Publier un jeu de données"
    check_page(f"/donnees/{slug}/ressources/ajouter")
    check_page(f"/donnees/{slug}/modifier")
    assert check_page(f"/donnees/reutilisations/nouvelle?jeu={slug}").inner_text("h1") == "Déclarer une réutilisation"
