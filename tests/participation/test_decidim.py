"""Decidim GraphQL import, against a loopback server.

No recorded Decidim response exists in ../shared/standards/. The answers served below are built
field by field from Decidim's own GraphQL type definitions (decidim-core ``TranslatedFieldType``
→ ``{translation}``, ``CoordinatesType`` → ``{latitude, longitude}``, ``ParticipatorySpaceInterface``
→ ``id``/``title``/``components``; decidim-participatory_processes ``ParticipatoryProcessType`` →
``slug``, ``subtitle``, ``shortDescription``, ``metaScope``, ``localArea``, ``developerGroup``,
``startDate``, ``endDate``; decidim-assemblies ``AssemblyType`` → ``creationDate``, ``closingDate``,
``url``; decidim-meetings ``MeetingsType.meetings`` (Relay connection with ``pageInfo``) and
``MeetingType`` → ``startTime``, ``endTime``, ``address``, ``location``, ``coordinates``,
``typeOfMeeting``, ``onlineMeetingUrl``, ``url``, ``isWithdrawn``; decidim-debates ``DebateType`` →
``startTime``, ``endTime``). The fake server also checks that every field it answers was asked for
in the query, as a real GraphQL server only answers what is selected.
"""

from __future__ import annotations

import json
import re

import pytest

from regio.core.ingest.engine import run_source
from regio.core.ingest.models import ItemError, Run, Source
from regio.participation.models import Debate, Meeting
from regio.participation.selectors import public_debates

pytestmark = pytest.mark.django_db


def tr(text):
    return {"translation": text}


def meeting(mid, title, start, end, *, address="", lat=None, lon=None, kind="in_person", withdrawn=False):
    return {
        "id": str(mid), "title": tr(title), "description": tr("<p>Ordre du jour</p>"), "startTime": start, "endTime": end,
        "address": address, "location": tr("Salle du conseil" if address else ""),
        "coordinates": {"latitude": lat, "longitude": lon} if lat is not None else None,
        "typeOfMeeting": kind, "onlineMeetingUrl": "https://visio.exemple.test/r" if kind == "online" else "",
        "url": f"https://decidim.exemple.test/processes/mobilite/f/5/meetings/{mid}", "isWithdrawn": withdrawn,
    }


PROCESS = {
    "id": "11", "slug": "mobilite", "title": tr("Plan de mobilité d'Amiens"), "subtitle": tr("Donnez votre avis"),
    "shortDescription": tr("<p>Vélo, bus &amp; marche : <strong>votre avis</strong>.</p>"), "description": tr("<p>Long</p>"),
    "metaScope": tr("Amiens"), "localArea": tr(""), "developerGroup": tr("Amiens Métropole"),
    "startDate": "2026-09-01", "endDate": "2027-02-28",
    "components": [
        {"id": "5", "__typename": "Meetings", "name": tr("Réunions"), "meetings": {
            "pageInfo": {"hasNextPage": True, "endCursor": "MQ"},
            "nodes": [meeting(1, "Réunion de lancement", "2026-09-10T18:30:00+02:00", "2026-09-10T20:30:00+02:00",
                              address="Place de l'Hôtel de Ville, 80000 Amiens", lat=49.8942, lon=2.2957)]}},
        {"id": "6", "__typename": "Debates", "name": tr("Débats"), "debates": {
            "pageInfo": {"hasNextPage": False, "endCursor": "MQ"},
            "nodes": [{"id": "77", "title": tr("Faut-il piétonniser le centre ?"), "description": tr("<p>À vous.</p>"),
                       "startTime": "2026-10-01T00:00:00+02:00", "endTime": "2026-12-31T23:59:00+01:00"}]}},
        {"id": "7", "__typename": "Budgets", "name": tr("Budgets")},
    ],
}
MORE_MEETINGS = {"pageInfo": {"hasNextPage": False, "endCursor": "Mg"}, "nodes": [
    meeting(2, "Atelier à Longueau", "2026-10-05T18:00:00+02:00", "2026-10-05T20:00:00+02:00",
            address="Salle des fêtes, 80330 Longueau"),
    meeting(3, "Visioconférence", "2026-10-12T18:00:00+02:00", "2026-10-12T19:00:00+02:00", kind="online"),
    meeting(4, "Réunion annulée", "2026-10-20T18:00:00+02:00", "2026-10-20T19:00:00+02:00", withdrawn=True),
]}
ASSEMBLY = {
    "id": "3", "slug": "conseil-citoyen", "title": tr("Conseil citoyen d'Abbeville"), "subtitle": tr(""),
    "shortDescription": tr("Instance permanente"), "description": tr(""), "metaScope": tr("Abbeville"), "localArea": tr(""),
    "developerGroup": tr(""), "creationDate": "2026-01-15", "closingDate": None,
    "url": "https://decidim.exemple.test/assemblies/conseil-citoyen", "components": [],
}


def assert_selected(answer, query):
    """Every key of the answer must be a field selected in the query (or __typename)."""
    if isinstance(answer, dict):
        for key, value in answer.items():
            assert re.search(rf"\b{re.escape(key)}\b", query), f"champ {key} servi sans être demandé"
            assert_selected(value, query)
    elif isinstance(answer, list):
        for value in answer:
            assert_selected(value, query)


class FakeDecidim:
    def __init__(self):
        self.processes = [PROCESS]
        self.assemblies = [ASSEMBLY]
        self.errors_for: str | None = None
        self.delay = 0.0
        self.operations: list[str] = []

    def __call__(self, method, body):
        assert method == "POST"
        request = json.loads(body)
        query, variables = request["query"], request.get("variables") or {}
        operation = re.search(r"query (\w+)", query).group(1)
        self.operations.append(operation)
        if self.errors_for == operation:
            return 200, "application/json", {"data": None, "errors": [{"message": "Field 'meetings' doesn't exist on type 'Component'"}]}, 0
        if operation == "RegioSpaces":
            data = {"participatoryProcesses": [{"id": p["id"]} for p in self.processes],
                    "assemblies": [{"id": a["id"]} for a in self.assemblies]}
        elif operation == "RegioProcess":
            assert variables["locale"] == "fr" and variables["pageSize"] == 50
            data = {"participatoryProcess": next((p for p in self.processes if p["id"] == variables["id"]), None)}
        elif operation == "RegioAssembly":
            data = {"assembly": next((a for a in self.assemblies if a["id"] == variables["id"]), None)}
        elif operation == "RegioMoreMeetings":
            assert (variables["id"], variables["after"]) == ("5", "MQ")
            data = {"component": {"meetings": MORE_MEETINGS}}
        else:
            raise AssertionError(operation)
        assert_selected(data, query)
        return 200, "application/json", {"data": data}, self.delay


@pytest.fixture
def decidim(local_server):
    fake = FakeDecidim()
    local_server.routes["/api"] = fake
    fake.source = Source.objects.create(kind="decidim", name="Decidim d'essai", url=f"{local_server.base_url}/api",
                                        filters={"base_url": "https://decidim.exemple.test"})
    return fake


def test_import_processes_assemblies_meetings_and_debates(decidim):
    run = run_source(decidim.source)
    assert run.status == Run.Status.SUCCEEDED, run.message
    assert decidim.operations == ["RegioSpaces", "RegioProcess", "RegioMoreMeetings", "RegioAssembly"]
    assert (run.created, run.failed, run.pages_done) == (3, 0, 2)
    process = Debate.objects.get(origin_remote_id="process:11")
    assert process.kind == "budget"  # a Budgets component
    assert process.summary == "Vélo, bus & marche : votre avis ."
    assert process.url == "https://decidim.exemple.test/processes/mobilite"
    assert (str(process.opens_on), str(process.closes_on)) == ("2026-09-01", "2027-02-28")
    assert process.commune_id == "80021" and "|80021|" in process.territory_codes  # metaScope "Amiens"
    meetings = {m.title: m for m in process.meetings.all()}
    assert set(meetings) == {"Réunion de lancement", "Atelier à Longueau", "Visioconférence"}  # withdrawn skipped
    assert meetings["Réunion de lancement"].lat == 49.8942 and meetings["Réunion de lancement"].commune_id == "80021"
    assert meetings["Atelier à Longueau"].commune_id == "80489"  # resolved from the postal code and name
    assert meetings["Visioconférence"].online and meetings["Visioconférence"].url == "https://visio.exemple.test/r"
    debate = Debate.objects.get(origin_remote_id="debate:77")
    assert debate.url == "https://decidim.exemple.test/processes/mobilite/f/6/debates/77"
    assembly = Debate.objects.get(origin_remote_id="assembly:3")
    assert assembly.url == "https://decidim.exemple.test/assemblies/conseil-citoyen" and assembly.commune_id == "80001"
    assert public_debates().filter(origin_source=decidim.source).count() == 3


def test_second_run_changes_nothing(decidim):
    run_source(decidim.source)
    before = list(Meeting.objects.values_list("pk", flat=True).order_by("pk"))
    run = run_source(decidim.source)
    assert (run.created, run.updated, run.unchanged) == (0, 0, 3)
    assert list(Meeting.objects.values_list("pk", flat=True).order_by("pk")) == before


def test_graphql_errors_fail_the_run_and_keep_previous_debates(decidim):
    run_source(decidim.source)
    decidim.errors_for = "RegioAssembly"
    decidim.processes = []  # would look "vanished" if the run were trusted
    run = run_source(decidim.source)
    assert run.status == Run.Status.FAILED
    assert run.message == (
        "L'instance Decidim a renvoyé une erreur GraphQL pour l'espace assembly 3 : "
        "Field 'meetings' doesn't exist on type 'Component'"
    )
    assert run.archived == 0
    assert public_debates().filter(origin_source=decidim.source).count() == 3


def test_timeout_fails_the_run_with_a_french_message(decidim):
    run_source(decidim.source)
    decidim.source.filters = {**decidim.source.filters, "timeout_s": 0.3, "retries": 0}
    decidim.source.save()
    decidim.delay = 1.5
    run = run_source(decidim.source)
    assert run.status == Run.Status.FAILED
    assert run.message.startswith("Délai dépassé en interrogeant http://127.0.0.1:")
    assert public_debates().filter(origin_source=decidim.source).count() == 3


def test_vanished_space_is_archived_after_a_complete_run(decidim):
    run_source(decidim.source)
    decidim.assemblies = []
    run = run_source(decidim.source)
    assert run.status == Run.Status.SUCCEEDED and run.archived == 1
    assembly = Debate.objects.get(origin_remote_id="assembly:3")
    assert assembly.archived_at is not None
    assert not public_debates().filter(pk=assembly.pk).exists()


def test_unreadable_space_is_a_per_item_error(decidim):
    broken = json.loads(json.dumps(PROCESS))
    broken["components"][0]["meetings"]["pageInfo"]["hasNextPage"] = False
    broken["components"][0]["meetings"]["nodes"][0]["startTime"] = "le 10 septembre"
    decidim.processes = [broken]
    run = run_source(decidim.source)
    assert run.status == Run.Status.SUCCEEDED and run.failed == 1 and run.created == 1
    error = ItemError.objects.get(run=run)
    assert error.remote_id == "process:11"
    assert error.message == "Espace Decidim illisible : Date et heure illisible « le 10 septembre »."


def test_demo_file_source_imports_through_the_engine():
    from regio.participation.demo import DATA

    source = Source.objects.create(kind="decidim", name="Fichier", url="https://decidim.demo.regio.localhost/api",
                                   file_path=str(DATA / "decidim-demo.json"))
    run = run_source(source)
    assert run.status == Run.Status.SUCCEEDED and run.created == 3
