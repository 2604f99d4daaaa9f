"""iCalendar feeds and the CSV/XLSX template through the ingest engine.

No real collectivité .ics feed exists in ../shared: the feeds are written here and served by a
loopback server (RFC 5545 syntax)."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from regio.core.ingest.engine import run_source
from regio.core.ingest.models import ItemError, Run, Source
from regio.participation.importers.table import template_csv
from regio.participation.models import Debate

pytestmark = pytest.mark.django_db

FEED = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Ville d'essai//FR\r
X-WR-CALNAME:Réunions de quartier d'Abbeville\r
X-WR-TIMEZONE:Europe/Paris\r
BEGIN:VEVENT\r
UID:quartier@abbeville.test\r
DTSTART;TZID=Europe/Paris:20260907T183000\r
DTEND;TZID=Europe/Paris:20260907T200000\r
RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=3\r
SUMMARY:Réunion de quartier\r
LOCATION:Mairie\\, 1 place Max Lejeune\\, 80100 Abbeville\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cassee@abbeville.test\r
DTSTART;TZID=Europe/Paris:20260910T183000\r
RRULE:FREQ=WEEKLY;BYDAY=LUNDI\r
SUMMARY:Règle cassée\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:fuseau@abbeville.test\r
DTSTART;TZID=Europe/Atlantis:20260911T183000\r
SUMMARY:Fuseau inconnu\r
END:VEVENT\r
END:VCALENDAR\r
"""


@pytest.fixture
def feed_source(local_server, amiens):
    state = {"body": FEED}
    local_server.routes["/agenda.ics"] = lambda method, body: (200, "text/calendar", state["body"], 0)
    source = Source.objects.create(
        kind="icalendar", name="Agenda d'Abbeville", url=f"{local_server.base_url}/agenda.ics",
        filters={"window_start": "2026-09-01", "window_end": "2026-12-31", "debate": {"themes": ["democratie"]}},
    )
    source.state = state
    return source


def test_ical_feed_becomes_a_debate_with_meetings_and_per_event_errors(feed_source):
    run = run_source(feed_source)
    assert run.status == Run.Status.SUCCEEDED
    assert (run.created, run.failed) == (2, 2)  # the feed's debate + one event; two broken events
    debate = Debate.objects.get(origin_source=feed_source)
    assert debate.title == "Réunions de quartier d'Abbeville" and debate.theme_list == ["democratie"]
    assert [m.starts_at.isoformat() for m in debate.meetings.all()] == [
        "2026-09-07T16:30:00+00:00", "2026-09-21T16:30:00+00:00", "2026-10-05T16:30:00+00:00"]
    assert {m.commune_id for m in debate.meetings.all()} == {"80001"}
    assert (str(debate.opens_on), str(debate.closes_on)) == ("2026-09-07", "2026-10-05")
    errors = {e.remote_id: e for e in ItemError.objects.filter(run=run)}
    assert errors["cassee@abbeville.test"].message == "Événement ignoré : Règle de récurrence invalide : jour « LUNDI » inconnu dans BYDAY."
    assert errors["cassee@abbeville.test"].field == "RRULE"
    assert errors["fuseau@abbeville.test"].message.startswith("Événement ignoré : Fuseau horaire inconnu « Europe/Atlantis »")


def test_ical_event_removed_from_the_feed_removes_its_meetings(feed_source):
    run_source(feed_source)
    feed_source.state["body"] = FEED.replace("COUNT=3", "COUNT=2")
    run = run_source(feed_source)
    assert run.updated == 2  # the debate's dates and the event
    assert Debate.objects.get(origin_source=feed_source).meetings.count() == 2
    start = feed_source.state["body"].index("BEGIN:VEVENT")
    end = feed_source.state["body"].index("END:VEVENT") + len("END:VEVENT\r\n")
    feed_source.state["body"] = feed_source.state["body"][:start] + feed_source.state["body"][end:]
    run = run_source(feed_source)
    assert run.status == Run.Status.SUCCEEDED and run.archived == 1
    assert Debate.objects.get(origin_source=feed_source).meetings.count() == 0


def test_unreadable_feed_fails_and_keeps_previous_meetings(feed_source):
    run_source(feed_source)
    feed_source.state["body"] = "<html>Erreur</html>"
    run = run_source(feed_source)
    assert run.status == Run.Status.FAILED
    assert run.message == "Calendrier iCalendar illisible : Ligne iCalendar invalide (pas de « : ») : <html>Erreur</html>"
    assert Debate.objects.get(origin_source=feed_source).meetings.count() == 3


def _table_source(path, owner):
    return Source.objects.create(kind="debats-tableur", name="Tableur", file_path=str(path), owner=owner,
                                 filters={"moderation": "pending"})


def test_csv_template_round_trip_and_row_errors(tmp_path, settings, amiens):
    settings.INGEST_FILE_ROOTS = [tmp_path]
    rows = template_csv().splitlines()
    rows.append("c2;Clôture avant ouverture;;consultation;;;80021;;;;2027-05-01;2027-04-01;;")
    rows.append("c3;Thème inconnu;;consultation;astrologie;;80021;;;;;;;")
    rows.append("c4;Adresse introuvable;;reunion;;Salle des fêtes, lieu-dit Les Sapins;;;;;2027-01-10;2027-01-10;;")
    rows.append("c5;Coordonnées illisibles;;reunion;;;;quarante-neuf;2,3;;;;;")
    path = tmp_path / "debats.csv"
    path.write_bytes("\n".join(rows).encode("cp1252"))  # a spreadsheet's Windows-1252 export
    run = run_source(_table_source(path, amiens))
    assert run.status == Run.Status.SUCCEEDED
    assert (run.created, run.failed) == (2, 3)
    ok = Debate.objects.get(origin_remote_id="budget-2027")
    assert ok.kind == "budget" and ok.commune_id == "80021" and ok.organiser == amiens and ok.level == "commune"
    assert ok.moderation == Debate.Moderation.PENDING
    flagged = Debate.objects.get(origin_remote_id="c4")
    assert flagged.address_unresolved and flagged.address == "Salle des fêtes, lieu-dit Les Sapins"
    errors = {e.remote_id: (e.field, e.message) for e in ItemError.objects.filter(run=run)}
    assert errors["c2"] == ("closes_on", "Ligne 3 : La date de clôture (01/04/2027) est antérieure à la date d'ouverture (01/05/2027) : corrigez l'une des deux.")
    assert errors["c3"][0] == "themes" and errors["c3"][1].startswith("Ligne 4 : Thème inconnu « astrologie »")
    assert errors["c5"] == ("latitude", "Ligne 6 : Nombre illisible « quarante-neuf ».")


def test_xlsx_upload_with_dates_as_cells(tmp_path, settings, amiens):
    from datetime import datetime

    settings.INGEST_FILE_ROOTS = [tmp_path]
    wb = Workbook()
    ws = wb.active
    ws.append(["Titre", "Thèmes", "Commune", "Ouverture", "Clôture", "Lien"])
    ws.append(["Concertation sur le parc", "environnement", "Abbeville", datetime(2027, 2, 1), datetime(2027, 3, 1), "https://exemple.test/parc"])
    path = tmp_path / "debats.xlsx"
    wb.save(path)
    run = run_source(_table_source(path, amiens))
    assert (run.status, run.created, run.failed) == (Run.Status.SUCCEEDED, 1, 0)
    debate = Debate.objects.get(origin_source__file_path=str(path))
    assert debate.commune_id == "80001" and str(debate.closes_on) == "2027-03-01"


def test_table_without_title_column_fails_the_run(tmp_path, settings, amiens):
    settings.INGEST_FILE_ROOTS = [tmp_path]
    path = tmp_path / "x.csv"
    path.write_text("nom;date\nA;B\n")
    run = run_source(_table_source(path, amiens))
    assert run.status == Run.Status.FAILED and run.message.startswith("Colonne « titre » absente")
