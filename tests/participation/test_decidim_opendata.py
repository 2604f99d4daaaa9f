"""Decidim open-data export (zip of CSV files), served by a loopback server.

No real export exists in ../shared/standards/. The CSV files below are built column by column
from Decidim's serializers (decidim-meetings ``MeetingSerializer``, decidim-debates
``DebateSerializer``) flattened the way ``Decidim::Exporters::CSV`` does it: nested keys joined
with ``/`` (``title/fr``, ``participatory_space/url``), ``;`` separator, ``start_time`` written
with Rails' ``to_s(:db)`` (UTC, no zone)."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest

from regio.core.ingest.engine import run_source
from regio.core.ingest.models import ItemError, Run, Source
from regio.participation.models import Debate

pytestmark = pytest.mark.django_db

MEETING_COLUMNS = [
    "id", "category/id", "category/name/fr", "scope/id", "scope/name/fr", "participatory_space/id", "participatory_space/url",
    "component/id", "title/fr", "description/fr", "start_time", "end_time", "attendees", "contributions", "organizations",
    "address", "location/fr", "reference", "comments", "attachments", "followers", "url", "related_proposals",
    "related_results", "published",
]
DEBATE_COLUMNS = [
    "id", "author/id", "author/name", "author/url", "title/fr", "description/fr", "instructions/fr", "start_time", "end_time",
    "information_updates/fr", "category/id", "category/name/fr", "scope/id", "scope/name/fr", "participatory_space/id",
    "participatory_space/url", "component/id", "reference", "comments", "followers", "url", "last_comment_at", "comments_enabled",
]
SPACE = "https://decidim.exemple.test/processes/plan-climat"


def csv_text(columns, rows):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=";")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    return out.getvalue()


def meeting(mid, title, start, end, address, location="", published="true"):
    return {"id": mid, "participatory_space/id": "4", "participatory_space/url": SPACE, "component/id": "9",
            "title/fr": title, "description/fr": "<p>Ordre du jour</p>", "start_time": start, "end_time": end,
            "address": address, "location/fr": location, "url": f"{SPACE}/f/9/meetings/{mid}", "published": published,
            "reference": f"D-MEET-2026-09-{mid}", "attendees": "0", "contributions": "0", "comments": "0"}


def export_zip(meetings, debates) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ville-exemple-open-data-meetings.csv", csv_text(MEETING_COLUMNS, meetings))
        archive.writestr("ville-exemple-open-data-debates.csv", csv_text(DEBATE_COLUMNS, debates))
        archive.writestr("ville-exemple-open-data-proposals.csv", "id;title/fr\n1;Une proposition\n")
    return buffer.getvalue()


@pytest.fixture
def export_source(local_server, amiens):
    state = {"zip": export_zip(
        [meeting("1", "Réunion de lancement", "2026-09-10 16:30:00", "2026-09-10 18:30:00", "Place de l'Hôtel de Ville, 80000 Amiens", "Hôtel de Ville"),
         meeting("2", "Atelier", "2026-09-20 16:00:00", "2026-09-20 18:00:00", "Salle des fêtes, 80330 Longueau"),
         meeting("3", "Brouillon", "2026-09-25 16:00:00", "2026-09-25 18:00:00", "", published="false"),
         meeting("4", "Date cassée", "le 30 septembre", "", "")],
        [{"id": "8", "title/fr": "Faut-il un tramway ?", "description/fr": "<p>Débat</p>", "start_time": "2026-09-01 00:00:00",
          "end_time": "2026-12-31 22:59:00", "participatory_space/id": "4", "participatory_space/url": SPACE,
          "url": f"{SPACE}/f/10/debates/8", "comments_enabled": "true"}],
    )}
    local_server.routes["/open-data/download"] = lambda method, body: (200, "application/zip", state["zip"], 0)
    source = Source.objects.create(kind="decidim-opendata", name="Export Decidim", owner=amiens,
                                   url=f"{local_server.base_url}/open-data/download")
    source.state = state
    return source


def test_open_data_export_import(export_source):
    run = run_source(export_source)
    assert run.status == Run.Status.SUCCEEDED
    assert (run.created, run.failed) == (2, 1)
    space = Debate.objects.get(origin_remote_id=f"space:{SPACE}")
    assert space.title == "Espace participatif « plan-climat »" and space.organiser == amiens_org()
    meetings = list(space.meetings.all())
    assert [(m.title, m.starts_at.isoformat(), m.commune_id) for m in meetings] == [
        ("Réunion de lancement", "2026-09-10T16:30:00+00:00", "80021"), ("Atelier", "2026-09-20T16:00:00+00:00", "80489")]
    assert meetings[0].address == "Hôtel de Ville, Place de l'Hôtel de Ville, 80000 Amiens"
    debate = Debate.objects.get(origin_remote_id="debate:8")
    assert debate.url == f"{SPACE}/f/10/debates/8" and str(debate.closes_on) == "2026-12-31"
    assert ItemError.objects.get(run=run).message == "Date et heure illisible « le 30 septembre »."


def test_broken_archive_fails_and_keeps_debates(export_source):
    run_source(export_source)
    export_source.state["zip"] = b"PK\x03\x04 tronque"
    run = run_source(export_source)
    assert run.status == Run.Status.FAILED
    assert run.message == "L'export open data Decidim n'est pas une archive zip lisible."
    assert Debate.objects.filter(origin_source=export_source, archived_at__isnull=True).count() == 2


def amiens_org():
    from regio.accounts.models import Organisation

    return Organisation.objects.get(kind="commune", commune_id="80021")
