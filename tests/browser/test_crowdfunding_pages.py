import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(site):
    call_command("demo", "--only", "organisations", "financement participatif", stdout=io.StringIO())


def test_crowdfunding_pages_are_accessible(check_page, demo):
    for path in [
        "/financement-participatif/",
        "/financement-participatif/?categorie=agriculture&territoire=59",
        "/financement-participatif/projets/fromagerie-paysanne-wormhout",
        "/financement-participatif/projets/cafe-associatif-le-quesnoy",
        "/financement-participatif/programmes/",
        "/financement-participatif/programmes/un-euro-citoyen-un-euro-region-ruralite",
        "/financement-participatif/statistiques",
    ]:
        check_page(path)


def test_projects_map_links_to_projects_with_the_list_as_text_alternative(check_page, demo):
    page = check_page("/financement-participatif/")
    links = page.locator("svg.territory-map a")
    assert links.count() == 5  # five demo projects in five communes
    assert "/financement-participatif/projets/fromagerie-paysanne-wormhout" in [
        links.nth(i).get_attribute("href") for i in range(links.count())
    ]
    assert page.locator("svg.territory-map title#map-title").count() == 1
    assert "Fromagerie paysanne" in page.inner_text("main")  # the list under the map


def test_progress_bar_has_a_text_equivalent(check_page, demo):
    page = check_page("/financement-participatif/projets/fromagerie-paysanne-wormhout")
    assert page.locator("svg.cf-progress").get_attribute("aria-hidden") == "true"
    text = page.inner_text(".cf-progress-text")
    assert "donnés par les citoyens" in text and "d'abondement de la Région" in text


def test_pledge_form_and_owner_page(check_page, demo, page, site):
    page.goto(site.url + "/compte/connexion")
    page.fill("input[name=username]", "donateur1@demo.regio.localhost")
    page.fill("input[name=password]", "demo-regio-2026")
    page.click("main button[type=submit]")
    form = check_page("/financement-participatif/projets/fromagerie-paysanne-wormhout/contribuer")
    form.fill("#id_amount", "2")
    form.click("main form button[type=submit]")
    assert "Le don minimum est de 5 €." in form.inner_text("main")
    form.fill("#id_amount", "15")
    form.click("main form button[type=submit]")
    form.wait_for_url("**/financement-participatif/dons/RGCF*")
    assert "Payer par virement" in form.inner_text("main")
    check_page(form.url.removeprefix(site.url))
    page.goto(site.url + "/compte/connexion")
    page.context.clear_cookies()
    page.goto(site.url + "/compte/connexion")
    page.fill("input[name=username]", "asso@demo.regio.localhost")
    page.fill("input[name=password]", "demo-regio-2026")
    page.click("main button[type=submit]")
    owner = check_page("/financement-participatif/projets/fromagerie-paysanne-wormhout/porteur")
    assert "Donateur 1" in owner.inner_text("table")
    check_page("/financement-participatif/projets/nouveau")


def test_staff_payout_page(check_page, demo, page, site):
    page.goto(site.url + "/compte/connexion")
    page.fill("input[name=username]", "agd@demo.regio.localhost")
    page.fill("input[name=password]", "demo-regio-2026")
    page.click("main button[type=submit]")
    payouts = check_page("/financement-participatif/gestion/versements")
    assert "Un café associatif au Quesnoy" in payouts.inner_text("main table")
