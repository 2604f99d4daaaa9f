"""URL resources converted again when the remote file changes: conditional request (ETag /
Last-Modified) or checksum, new conversion and validation, history kept, and nothing lost when the
new version cannot be downloaded or read. A loopback server serves real SCDL files that change."""

from __future__ import annotations

import hashlib
import http.server
import threading
from email.utils import formatdate
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from regio.catalog import services as catalog
from regio.quality.models import DatasetQuality, ValidationReport
from regio.tabular.models import RemoteCheck, Status, TabularResource
from regio.tabular.services import check_remote_source, local_source
from tests.factories import make_user, member_of

pytestmark = pytest.mark.django_db

SUBVENTIONS = Path(settings.SHARED_DIR) / "standards" / "schemas" / "scdl-subventions"
VALIDE = SUBVENTIONS / "exemple_valide.csv"
ERREURS = SUBVENTIONS / "exemple_invalide_erreurs_cellules.csv"
HAUTE_GARONNE = SUBVENTIONS / "real" / "SCDL_DEP_Haute_Garonne_datalocale-subvention.csv"
SCHEMA_URL = "https://gitlab.com/opendatafrance/scdl/subventions/raw/v2.1.1/schema.json"


class ChangingFile:
    """What the loopback server serves at /subventions.csv: a body that the test changes, with
    (``validators=True``) an ETag and a Last-Modified honoured on conditional requests, or none."""

    def __init__(self, body: bytes, validators: bool = True):
        self.body, self.validators, self.fail_with, self.requests = body, validators, None, []
        self.modified = formatdate(usegmt=True)

    def change(self, body: bytes, when: str):
        self.body, self.modified = body, when

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


@pytest.fixture
def remote(allow_private_http):
    state = ChangingFile(VALIDE.read_bytes())

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            state.requests.append({k.lower(): v for k, v in self.headers.items()})
            if state.fail_with:
                self.send_error(state.fail_with)
                return
            if state.validators and (
                self.headers.get("If-None-Match") == state.etag or self.headers.get("If-Modified-Since") == state.modified
            ):
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(state.body)))
            if state.validators:
                self.send_header("ETag", state.etag)
                self.send_header("Last-Modified", state.modified)
            self.end_headers()
            self.wfile.write(state.body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/subventions.csv"
    yield state
    server.shutdown()


@pytest.fixture
def env(settings, tmp_path):
    from regio.quality.demo import load_demo

    settings.TABULAR_ROOT = tmp_path / "tabular"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TABULAR_CATALOG_DOWNLOADS = True
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "QUEUES": ["default"]}}
    load_demo(type("Out", (), {"write": lambda self, s: None})())  # the SCDL schemas, for validation


def url_resource(amiens, url, django_capture_on_commit_callbacks):
    agent = member_of(make_user("donnees@amiens.fr"), amiens)
    with django_capture_on_commit_callbacks(execute=True):
        dataset = catalog.create_dataset(
            agent, amiens,
            {"title": "Subventions aux associations", "licence": "lov2", "frequency": "MONTHLY", "conforms_to": SCHEMA_URL,
             "description": "Subventions versées par la commune aux associations, au format SCDL. " * 5},
            publish=True,
        )
        resource = catalog.add_resource(agent, dataset, title="Subventions (lien)", url=url, format="csv")
    return dataset, resource, TabularResource.objects.get(resource_key=f"catalog.resource:{resource.pk}")


def due_now(tab):
    TabularResource.objects.filter(pk=tab.pk).update(next_remote_check_at=timezone.now())


def api_rows(client, resource) -> int:
    return client.get(f"/api/1/resources/{resource.pk}/data/", {"page_size": 5}).json()["total"]


def test_changed_remote_file_is_converted_validated_and_kept_in_history(env, amiens, remote, client, django_capture_on_commit_callbacks):
    from regio.tabular.tasks import check_remote_sources_task

    dataset, resource, tab = url_resource(amiens, remote.url, django_capture_on_commit_callbacks)
    assert tab.status == Status.READY and tab.remote_etag == remote.etag and tab.source_sha256 == hashlib.sha256(VALIDE.read_bytes()).hexdigest()
    assert tab.next_remote_check_at > timezone.now()
    first_rows, first_parquet = tab.row_count, tab.parquet_path
    assert ValidationReport.objects.get(resource_key=tab.resource_key).valid
    score_before = DatasetQuality.objects.get(dataset=dataset).score

    # Not due yet: nothing is requested.
    requests = len(remote.requests)
    assert check_remote_sources_task.enqueue(False).return_value == 0 and len(remote.requests) == requests

    # Due, unchanged: a conditional request, answered 304; nothing converted again.
    due_now(tab)
    assert check_remote_sources_task.enqueue(False).return_value == 1
    assert remote.requests[-1]["if-none-match"] == remote.etag and remote.requests[-1]["if-modified-since"] == remote.modified
    check = RemoteCheck.objects.get(resource=tab)
    assert check.outcome == RemoteCheck.Outcome.UNCHANGED and check.status_code == 304
    tab.refresh_from_db()
    assert tab.parquet_path == first_parquet

    # The publisher replaces the file on their server: a new version is converted and validated.
    remote.change(ERREURS.read_bytes(), "Wed, 01 Jan 2031 08:00:00 GMT")
    due_now(tab)
    with django_capture_on_commit_callbacks(execute=True):
        assert check_remote_sources_task.enqueue(False).return_value == 1
    tab.refresh_from_db()
    latest = tab.remote_checks.first()
    assert latest.outcome == RemoteCheck.Outcome.CHANGED and latest.status_code == 200 and latest.row_count == tab.row_count
    assert tab.status == Status.READY and tab.parquet_path != first_parquet and not Path(first_parquet).exists()
    assert tab.remote_etag == remote.etag and tab.remote_last_modified == "Wed, 01 Jan 2031 08:00:00 GMT"
    assert local_source(tab).read_bytes() == ERREURS.read_bytes()  # the kept copy is the new version
    report = ValidationReport.objects.get(resource_key=tab.resource_key)
    assert not report.valid and report.error_count > 0  # validated again: this version has cell errors
    assert DatasetQuality.objects.get(dataset=dataset).score < score_before
    assert api_rows(client, resource) == tab.row_count
    # History kept, newest first; shown on the dataset page and in the API.
    assert [c.outcome for c in tab.remote_checks.all()] == ["changed", "unchanged"]
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Historique des vérifications du fichier distant" in page and "Nouvelle version convertie" in page
    status = client.get(f"/api/1/resources/{resource.pk}/tabular/").json()
    assert [c["outcome"] for c in status["remote_checks"]] == ["changed", "unchanged"]
    assert first_rows is not None


def test_nothing_is_lost_when_the_new_version_cannot_be_downloaded_or_read(env, amiens, remote, client, django_capture_on_commit_callbacks):
    dataset, resource, tab = url_resource(amiens, remote.url, django_capture_on_commit_callbacks)
    rows, parquet = tab.row_count, tab.parquet_path

    # The server fails: the check is recorded as failed, in French; the data stays served.
    remote.fail_with = 500
    check = check_remote_source(tab)
    assert check.outcome == RemoteCheck.Outcome.FAILED and check.status_code == 500
    assert check.error.startswith("Le fichier distant n'a pas pu être téléchargé : Le serveur 127.0.0.1 a répondu 500")
    tab.refresh_from_db()
    assert tab.status == Status.READY and tab.parquet_path == parquet and api_rows(client, resource) == rows
    assert local_source(tab).read_bytes() == VALIDE.read_bytes()
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Le fichier distant n&#x27;a pas pu être téléchargé" in page
    assert "Les données affichées restent celles de la version convertie le" in page

    # The file changes into something unreadable (binary junk named .csv): previous version kept.
    remote.fail_with = None
    remote.change(bytes(range(256)) * 64, "Thu, 02 Jan 2031 08:00:00 GMT")
    with django_capture_on_commit_callbacks(execute=True):
        check = check_remote_source(TabularResource.objects.get(pk=tab.pk))
    assert check.outcome == RemoteCheck.Outcome.CONVERSION_FAILED
    assert check.error.startswith("Une nouvelle version du fichier distant a été détectée mais n'a pas pu être lue : ")
    tab.refresh_from_db()
    assert tab.status == Status.FAILED and tab.parquet_path == parquet and Path(parquet).is_file()
    assert api_rows(client, resource) == rows
    assert local_source(tab).read_bytes() == VALIDE.read_bytes()  # the copy of the version served is kept
    assert not list((Path(parquet).parent / "source").glob(".incoming-*"))  # no partial download left behind
    assert ValidationReport.objects.get(resource_key=tab.resource_key).valid  # the report of the version served
    page = client.get(dataset.get_absolute_url()).content.decode()
    assert "Une nouvelle version du fichier distant a été détectée mais n&#x27;a pas pu être lue" in page
    assert "L&#x27;aperçu montre la dernière version lue correctement." in page

    # Corrected by the publisher: the next check converts it and the resource is ready again.
    remote.change(HAUTE_GARONNE.read_bytes(), "Fri, 03 Jan 2031 08:00:00 GMT")
    with django_capture_on_commit_callbacks(execute=True):
        check = check_remote_source(TabularResource.objects.get(pk=tab.pk))
    tab.refresh_from_db()
    assert check.outcome == RemoteCheck.Outcome.CHANGED and tab.status == Status.READY and tab.row_count == check.row_count != rows
    assert [c.outcome for c in tab.remote_checks.all()] == ["changed", "conversion_failed", "failed"]


def test_without_validators_the_checksum_decides(env, amiens, remote, django_capture_on_commit_callbacks):
    remote.validators = False
    _dataset, _resource, tab = url_resource(amiens, remote.url, django_capture_on_commit_callbacks)
    assert tab.remote_etag == "" and tab.remote_last_modified == ""
    converted_at = tab.converted_at
    check = check_remote_source(tab)
    assert "if-none-match" not in remote.requests[-1]
    assert check.outcome == RemoteCheck.Outcome.UNCHANGED and check.status_code == 200 and check.sha256 == tab.source_sha256
    assert TabularResource.objects.get(pk=tab.pk).converted_at == converted_at  # same bytes: not converted again
    remote.change(ERREURS.read_bytes(), "")
    check = check_remote_source(TabularResource.objects.get(pk=tab.pk))
    tab.refresh_from_db()
    assert check.outcome == RemoteCheck.Outcome.CHANGED and tab.converted_at > converted_at
    assert tab.source_sha256 == hashlib.sha256(ERREURS.read_bytes()).hexdigest()


def test_a_remote_change_counts_as_an_update_for_the_frequency_criterion(env, amiens, remote, django_capture_on_commit_callbacks):
    from datetime import timedelta
    from unittest import mock

    from regio.quality.catalog_link import recompute_scores

    dataset, _resource, tab = url_resource(amiens, remote.url, django_capture_on_commit_callbacks)
    sixty_days = timezone.now() + timedelta(days=60)

    def frequency_points():
        return next(c for c in DatasetQuality.objects.get(dataset=dataset).criteria if c["key"] == "frequency")["points"]

    with mock.patch("django.utils.timezone.now", return_value=sixty_days):
        recompute_scores()
        assert frequency_points() == 0  # monthly, nothing new for 60 days
        remote.change(ERREURS.read_bytes(), "Wed, 01 Jan 2031 08:00:00 GMT")
        with django_capture_on_commit_callbacks(execute=True):
            assert check_remote_source(TabularResource.objects.get(pk=tab.pk)).outcome == RemoteCheck.Outcome.CHANGED
        assert frequency_points() == 15  # the data was updated on the publisher's server


def test_periodic_check_reschedules_itself(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default"]}}
    from django_tasks import default_task_backend

    from regio.tabular.tasks import RESCHEDULE_EVERY, check_remote_sources_task

    default_task_backend.clear()
    before = timezone.now()
    assert check_remote_sources_task.call(True) == 0
    queued = [r for r in default_task_backend.results if r.task.name == "check_remote_sources_task"]
    assert len(queued) == 1 and queued[0].task.run_after >= before + RESCHEDULE_EVERY


def test_check_remote_command(env, amiens, remote, django_capture_on_commit_callbacks):
    from io import StringIO

    from django.core.management import call_command

    _dataset, _resource, tab = url_resource(amiens, remote.url, django_capture_on_commit_callbacks)
    out = StringIO()
    call_command("tabular", "check-remote", stdout=out)
    assert "0 fichier(s) distant(s) vérifié(s)" in out.getvalue()  # converted just now: not due
    due_now(tab)
    remote.change(ERREURS.read_bytes(), "Wed, 01 Jan 2031 08:00:00 GMT")
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("tabular", "check-remote", stdout=out)
    assert "1 fichier(s) distant(s) vérifié(s) — Nouvelle version convertie : 1." in out.getvalue()


def test_resources_written_in_bulk_by_the_harvester_are_converted(env, amiens, remote, django_capture_on_commit_callbacks):
    """A harvested page is written with bulk_create (no post_save): the bulk signal submits its tabular resources."""
    from regio.catalog.models import Resource
    from regio.catalog.signals import datasets_bulk_saved

    agent = member_of(make_user("moissonnage@amiens.fr"), amiens)
    with django_capture_on_commit_callbacks(execute=True):
        dataset = catalog.create_dataset(
            agent, amiens, {"title": "Subventions moissonnées", "licence": "lov2", "description": "Jeu moissonné."}, publish=True,
        )
    with django_capture_on_commit_callbacks(execute=True):
        (resource,) = Resource.objects.bulk_create([Resource(dataset=dataset, title="Subventions", url=remote.url, format="csv")])
        assert not TabularResource.objects.filter(resource_key=f"catalog.resource:{resource.pk}").exists()
        datasets_bulk_saved.send(sender=type(dataset), dataset_ids=[dataset.pk])
    tab = TabularResource.objects.get(resource_key=f"catalog.resource:{resource.pk}")
    assert tab.status == Status.READY and tab.row_count == len(VALIDE.read_text(encoding="utf-8").strip().splitlines()) - 1

    # Sent again for the unchanged page: nothing is converted a second time.
    requests = len(remote.requests)
    with django_capture_on_commit_callbacks(execute=True):
        datasets_bulk_saved.send(sender=type(dataset), dataset_ids=[dataset.pk])
    assert len(remote.requests) == requests


def test_the_catalogue_resource_describes_the_version_served(env, amiens, remote, django_capture_on_commit_callbacks):
    from regio.catalog.models import Resource

    _dataset, resource, tab = url_resource(amiens, remote.url, django_capture_on_commit_callbacks)
    resource.refresh_from_db()
    assert resource.size == len(VALIDE.read_bytes()) and resource.checksum_sha256 == hashlib.sha256(VALIDE.read_bytes()).hexdigest()
    first_modified, updated_at = resource.last_modified, resource.updated_at

    # A new version on the remote server: size, checksum and modification date follow; no resubmission.
    remote.change(ERREURS.read_bytes(), "Wed, 01 Jan 2031 08:00:00 GMT")
    with django_capture_on_commit_callbacks(execute=True):
        check_remote_source(tab)
    tab.refresh_from_db()
    resource.refresh_from_db()
    assert resource.size == len(ERREURS.read_bytes()) and resource.checksum_sha256 == hashlib.sha256(ERREURS.read_bytes()).hexdigest()
    assert resource.last_modified == tab.source_changed_at > first_modified and resource.updated_at == updated_at
    assert tab.status == Status.READY and tab.remote_checks.first().outcome == RemoteCheck.Outcome.CHANGED

    # A version that cannot be read, or a download that fails: the catalogue keeps describing the version served.
    remote.change(b"\x00\x01\x02 pas un CSV \xff" * 50, "Thu, 02 Jan 2031 08:00:00 GMT")
    check_remote_source(tab)
    remote.fail_with = 500
    check_remote_source(tab)
    assert [c.outcome for c in tab.remote_checks.all()][:2] == ["failed", "conversion_failed"]
    assert Resource.objects.get(pk=resource.pk).checksum_sha256 == hashlib.sha256(ERREURS.read_bytes()).hexdigest()
