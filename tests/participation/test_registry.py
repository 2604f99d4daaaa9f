"""Manual submission, moderation, deduplication, search near me, API and exports."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from regio.accounts.models import Organisation
from regio.participation import services
from regio.participation.models import Debate, Meeting

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def make(org_filter, title, *, themes=("mobilite",), commune="", address="", opens=-5, closes=30, **extra):
    org = Organisation.objects.get(**org_filter)
    debate = Debate(organiser=org, moderation=Debate.Moderation.APPROVED)
    services._apply(debate, {"title": title, "themes": list(themes), "commune_code": commune, "address": address,
                             "opens_on": TODAY + timedelta(days=opens), "closes_on": TODAY + timedelta(days=closes),
                             "organiser": org, **extra})
    debate.save()
    return debate


@pytest.fixture
def debates():
    return {
        "amiens": make({"kind": "commune", "commune_id": "80021"}, "Plan vélo d'Amiens", commune="80021"),
        "longueau": make({"kind": "commune", "commune_id": "80489"}, "Gare de Longueau", address="Place de la Gare, 80330 Longueau"),
        "abbeville": make({"kind": "commune", "commune_id": "80001"}, "Navettes d'Abbeville", commune="80001"),
        "lille": make({"kind": "commune", "commune_id": "59350"}, "Budget participatif lillois", themes=("budget",), commune="59350"),
        "old": make({"kind": "commune", "commune_id": "80021"}, "Ancienne concertation vélo", commune="80021", opens=-90, closes=-30),
        "somme": make({"kind": "departement", "departement_id": "80"}, "Collèges de la Somme", themes=("education",), commune="80021", opens=10, closes=40),
    }


def test_agent_submits_and_region_moderates(agent, amiens, moderator):
    debate = services.submit_debate(agent, amiens, {
        "title": "Réaménagement de la place Gambetta", "kind": "concertation", "themes": ["amenagement"],
        "address": "Place Gambetta, 80000 Amiens", "opens_on": date(2027, 1, 5), "closes_on": date(2027, 2, 5),
    })
    assert debate.moderation == Debate.Moderation.PENDING and debate.level == "commune"
    assert debate.commune_id == "80021" and not debate.address_unresolved and debate.territory_list == ["80021"]
    with pytest.raises(PermissionDenied):
        services.moderate_debate(agent, debate, approve=True)
    with pytest.raises(ValidationError, match="Indiquez le motif du refus"):
        services.moderate_debate(moderator, debate, approve=False)
    services.moderate_debate(moderator, debate, approve=True)
    assert debate.moderation == Debate.Moderation.APPROVED and debate.moderated_by == moderator


def test_only_the_collectivite_agents_may_submit(agent):
    lille = Organisation.objects.get(kind="commune", commune_id="59350")
    with pytest.raises(PermissionDenied, match="au nom de cette organisation"):
        services.submit_debate(agent, lille, {"title": "X"})


def test_closing_before_opening_is_refused_in_french(agent, amiens):
    with pytest.raises(ValidationError) as exc:
        services.submit_debate(agent, amiens, {"title": "Dates inversées", "opens_on": date(2027, 3, 1), "closes_on": date(2027, 2, 1)})
    assert exc.value.message_dict == {"closes_on": [
        "La date de clôture (01/02/2027) est antérieure à la date d'ouverture (01/03/2027) : corrigez l'une des deux."]}


def test_unresolvable_address_is_kept_and_flagged(agent, amiens):
    debate = services.submit_debate(agent, amiens, {"title": "Atelier", "address": "Salle polyvalente, quartier des Tilleuls"})
    assert debate.address == "Salle polyvalente, quartier des Tilleuls"
    assert debate.address_unresolved and debate.commune is None and debate.lat is None


def test_duplicates_are_refused_by_link_or_by_title_organiser_and_dates(agent, amiens):
    data = {"title": "Plan climat", "opens_on": date(2027, 1, 1), "closes_on": date(2027, 2, 1), "url": "https://www.exemple.test/climat/"}
    services.submit_debate(agent, amiens, data)
    with pytest.raises(ValidationError, match="déjà enregistré"):
        services.submit_debate(agent, amiens, {**data, "title": "Autre titre", "url": "http://exemple.test/climat"})
    with pytest.raises(ValidationError, match="déjà enregistré"):
        services.submit_debate(agent, amiens, {**data, "title": "PLAN  CLIMAT", "url": ""})


def test_import_reuses_a_debate_registered_by_hand(agent, amiens):
    from regio.core.ingest.models import Source

    manual = services.submit_debate(agent, amiens, {"title": "Plan climat", "url": "https://exemple.test/climat"})
    source = Source.objects.create(kind="decidim", name="x")
    starts = timezone.now() + timedelta(days=3)
    imported = services.upsert_imported_debate(source, "process:1", {
        "title": "Plan climat (Decidim)", "url": "https://exemple.test/climat/",
        "meetings": [{"remote_id": "m1", "title": "Réunion", "starts_at": starts}],
    })
    assert imported.pk == manual.pk and imported.title == "Plan climat"  # content left to its first origin
    assert Meeting.objects.filter(debate=manual).count() == 1


def test_status_follows_dates_and_results():
    d = Debate(opens_on=TODAY + timedelta(days=1))
    assert d.compute_status() == "upcoming"
    d = Debate(opens_on=TODAY - timedelta(days=10), closes_on=TODAY - timedelta(days=1))
    assert d.compute_status() == "closed"
    d.results_url = "https://exemple.test/r"
    assert d.compute_status() == "results"


def test_api_near_postal_code_sorted_by_distance(client, debates):
    response = client.get("/api/1/debates", {"near": "80000", "radius_km": 15, "theme": "mobilite", "status": "open"})
    assert response.status_code == 200
    body = response.json()
    assert [d["title"] for d in body["data"]] == ["Plan vélo d'Amiens", "Gare de Longueau"]
    assert body["data"][0]["distance_km"] == 0.0 and 4 < body["data"][1]["distance_km"] < 10
    assert body["total"] == 2 and set(body) == {"data", "page", "page_size", "total", "next_page"}


def test_api_near_insee_code_wider_radius_and_text(client, debates):
    body = client.get("/api/1/debates", {"near": "80021", "radius_km": 60, "q": "navettes"}).json()
    assert [(d["title"], round(d["distance_km"])) for d in body["data"]] == [("Navettes d'Abbeville", 40)]
    body = client.get("/api/1/debates", {"level": "departement"}).json()
    assert [d["title"] for d in body["data"]] == ["Collèges de la Somme"]
    assert body["data"][0]["distance_km"] is None and body["data"][0]["status"] == "upcoming"


def test_api_bad_filters_answer_problem_json_in_french(client, debates):
    response = client.get("/api/1/debates", {"near": "99999"})
    assert response.status_code == 422 and response["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "Commune introuvable : « 99999 » (nom, code INSEE ou code postal)."
    response = client.get("/api/1/debates", {"theme": "astrologie"})
    assert response.json()["detail"].startswith("Thème inconnu « astrologie »")
    assert client.get("/api/1/debates", {"near": "80021", "radius_km": 0}).json()["detail"] == "Le rayon doit être compris entre 1 et 200 km."


def test_api_detail_with_meetings_and_pending_hidden(client, debates, agent, amiens):
    Meeting.objects.create(debate=debates["amiens"], title="Atelier", starts_at=timezone.now() + timedelta(days=2))
    body = client.get(f"/api/1/debates/{debates['amiens'].pk}").json()
    assert body["meetings"][0]["title"] == "Atelier"
    pending = services.submit_debate(agent, amiens, {"title": "Pas encore publié"})
    assert client.get(f"/api/1/debates/{pending.pk}").status_code == 404
    assert "Pas encore publié" not in str(client.get("/api/1/debates").json())


def test_api_create_with_token(client, agent, amiens):
    from regio.accounts.models import ApiToken

    _token, secret = ApiToken.issue(agent, "test")
    response = client.post("/api/1/debates", {"organisation_id": amiens.pk, "title": "Par l'API", "opens_on": "2027-02-01", "closes_on": "2027-01-01"},
                           content_type="application/json", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 422 and "antérieure à la date d'ouverture" in response.json()["detail"]
    response = client.post("/api/1/debates", {"organisation_id": amiens.pk, "title": "Par l'API"},
                           content_type="application/json", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 201 and response.json()["title"] == "Par l'API"


def test_ics_export_with_filters_is_valid_icalendar(client, debates):
    from regio.participation.importers.icalendar import parse_components

    Meeting.objects.create(debate=debates["amiens"], title="Atelier vélo", starts_at=timezone.now() + timedelta(days=2))
    response = client.get("/debats/export.ics", {"near": "80021", "radius_km": 15, "theme": "mobilite", "status": "open"})
    assert response["content-type"] == "text/calendar; charset=utf-8"
    cal = parse_components(response.content.decode())
    summaries = sorted(e.text("SUMMARY") for e in cal.children if e.name == "VEVENT")
    assert summaries == ["Atelier vélo", "Gare de Longueau", "Plan vélo d'Amiens"]
    assert client.get("/debats/export.ics", {"near": "Atlantide"}).status_code == 400


def test_rss_feed_with_filters(client, debates):
    import xml.etree.ElementTree as ET

    response = client.get("/debats/feed.xml", {"theme": "budget"})
    assert response["content-type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)
    assert [i.findtext("title") for i in root.iter("item")] == ["Budget participatif lillois"]
