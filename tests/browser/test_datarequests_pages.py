import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(site):
    from io import StringIO

    from regio.accounts.demo import load_demo as accounts_demo
    from regio.catalog.demo import load_demo as catalog_demo
    from regio.datarequests.demo import load_demo

    accounts_demo(StringIO())
    catalog_demo(StringIO())
    load_demo(StringIO())


def test_public_pages_are_accessible(check_page, demo):
    from regio.datarequests.models import DataRequest

    released = DataRequest.objects.get(status="released")
    refused = DataRequest.objects.get(status="refused")
    from regio.accounts.models import Organisation

    amiens = Organisation.objects.get(kind="commune", commune_id="80021").slug
    for path in [
        "/demandes-de-donnees/",
        "/demandes-de-donnees/?status=assigned&overdue=1",
        "/demandes-de-donnees/nouvelle",
        released.get_absolute_url(),
        refused.get_absolute_url(),
        "/obligations/",
        "/obligations/?sort=-jeux&kind=commune",
        f"/obligations/{amiens}",
    ]:
        check_page(path)


def test_submit_form_shows_catalogue_suggestions(check_page, demo):
    page = check_page("/demandes-de-donnees/nouvelle")
    page.fill("#id_title", "Subventions aux associations")
    page.fill("#id_description", "Liste des subventions versées aux associations, avec les montants et les bénéficiaires.")
    page.fill("#id_email", "navigateur@exemple.test")
    page.click("main form button[type=submit]")
    page.wait_for_selector("#suggestions-title")
    assert "existent peut-être déjà" in page.inner_text("main")


def test_cdo_pages_are_accessible(check_page, page, site, demo):
    from django.test import Client

    from regio.accounts.models import User

    cdo = User.objects.get(email="agd@demo.regio.localhost")
    client = Client()
    client.force_login(cdo)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}])
    from regio.datarequests.models import DataRequest

    submitted = DataRequest.objects.filter(status="submitted", moderation="not_required").first()
    from regio.datarequests.models import Comment

    assert Comment.objects.filter(moderation="pending").exists()  # the demo's spammy comment
    for path in [
        "/demandes-de-donnees/tableau-de-bord",
        "/demandes-de-donnees/moderation",
        submitted.get_absolute_url(),
        "/obligations/gestion",
        "/demandes-de-donnees/rapport-annuel",
    ]:
        check_page(path)


def test_transition_form_organisation_search_with_keyboard(check_page, page, site, demo):
    """The combobox: suggestions from the API, chosen with the keyboard, sent as the slug; axe-clean when open."""
    from django.test import Client

    from regio.accounts.models import Organisation, User
    from regio.datarequests.models import DataRequest

    from .conftest import axe_violations

    cdo = User.objects.get(email="agd@demo.regio.localhost")
    client = Client()
    client.force_login(cdo)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}])
    qualified = DataRequest.objects.get(status="qualified")
    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    check_page(qualified.get_absolute_url())
    page.select_option("#id_status", "assigned")
    page.click("#id_assigned_to_q")
    page.keyboard.type("Commune de Amiens")
    page.wait_for_selector("#org-suggestions [role=option]")
    assert page.get_attribute("#id_assigned_to_q", "aria-expanded") == "true"
    assert axe_violations(page) == []
    page.keyboard.press("ArrowDown")
    assert page.get_attribute("#id_assigned_to_q", "aria-activedescendant") == "id_assigned_to_q-option-0"
    page.keyboard.press("Enter")
    assert page.input_value("#id_assigned_to") == amiens.slug
    assert page.input_value("#id_assigned_to_q") == "Commune de Amiens"
    page.click("#instruire + form button[type=submit]")
    page.wait_for_selector("text=Transmise à")
    qualified.refresh_from_db()
    assert qualified.status == "assigned" and qualified.assigned_to == amiens
