import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def demo_debates(site):
    from io import StringIO

    from regio.participation.demo import load_demo

    load_demo(StringIO())


def test_debate_pages_are_accessible(check_page, demo_debates):
    from regio.participation.models import Debate

    debate = Debate.objects.filter(moderation="approved", meetings__isnull=False).first()
    for path in [
        "/debats/",
        "/debats/?near=80000&radius_km=30&theme=amenagement",
        "/debats/carte",
        "/debats/carte?near=Amiens&radius_km=20",
        "/debats/calendrier",
        f"/debats/{debate.pk}",
        "/debats/alertes",
        "/debats/mes-donnees",
    ]:
        check_page(path)


def test_near_me_search_by_keyboard(check_page, demo_debates):
    page = check_page("/debats/")
    page.fill("#id_near", "80000")
    page.fill("#id_radius_km", "20")
    page.keyboard.press("Enter")
    page.wait_for_url("**near=80000**")
    assert "à moins de 20 km d" in page.inner_text("main")
    assert "Amiens" in page.inner_text("main")


def test_agent_and_moderator_pages_are_accessible(check_page, page, site, demo_debates):
    from django.test import Client
    from django.utils import timezone

    from regio.accounts.models import Membership, Organisation, User
    from regio.core.ingest.models import Source

    amiens = Organisation.objects.get(kind="commune", commune_id="80021")
    user = User.objects.create_user("agent.navigateur@amiens.test", "motdepasse-solide-123", is_active=True,
                                    is_moderator=True, email_confirmed_at=timezone.now())
    Membership.objects.create(user=user, organisation=amiens, role="editor", status="active")
    source = Source.objects.get(kind="icalendar")  # the demo's agenda: shows a run with its counts
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": site.url}])
    for path in ["/debats/declarer", "/debats/import", "/debats/espace-agent", "/debats/moderation", "/debats/sources/ajouter", f"/debats/sources/{source.pk}"]:
        check_page(path)
