"""The generic ingest engine, driven by a tiny fake backend defined here.

The fake backend keeps its "local objects" in a dict and counts its writes: that is what the
engine guarantees are about (idempotence, no rewrite when unchanged, per-item errors, resume,
archive only after a complete run).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from regio.core.ingest import registry
from regio.core.ingest.engine import detect_dead_runs, request_cancel, run_source
from regio.core.ingest.models import Item, ItemError, Run, Source
from regio.core.ingest.registry import IngestError, IngestItemError, Page, Record

pytestmark = pytest.mark.django_db


class FakeBackend(registry.IngestBackend):
    label = "Faux"

    def __init__(self):
        self.remote: list[dict] = []  # what the remote source currently holds
        self.page_size = 2
        self.store: dict[str, dict] = {}  # "local objects"
        self.writes = 0
        self.archived: list[str] = []
        self.fail_on_page: int | None = None
        self.crash_after_page: int | None = None
        self.pages_started: list[int] = []
        self.on_page = None

    def pages(self, source, cursor, fetch):
        start = int(cursor or 0)
        for index in range(start, len(self.remote), self.page_size):
            page_no = index // self.page_size + 1
            self.pages_started.append(page_no)
            if self.fail_on_page == page_no:
                raise IngestError(f"Le serveur distant a répondu 500 à la page {page_no}.")
            if self.crash_after_page is not None and page_no > self.crash_after_page:
                raise KeyboardInterrupt  # a killed worker: nothing after this line runs
            if self.on_page:
                self.on_page(page_no)
            chunk = self.remote[index : index + self.page_size]
            yield Page([Record(r["id"], r) for r in chunk], cursor=str(index + self.page_size))

    def upsert(self, source, record):
        if record.payload.get("bad"):
            raise IngestItemError("Le titre est vide.", field="titre")
        self.writes += 1
        self.store[record.remote_id] = dict(record.payload)
        return f"fake:{record.remote_id}"

    def archive(self, source, item):
        self.archived.append(item.remote_id)
        self.store.pop(item.remote_id, None)


@pytest.fixture
def fake():
    backend = FakeBackend()
    registry.register("fake-test", backend)
    backend.remote = [{"id": f"r{i}", "title": f"Titre {i}"} for i in range(5)]
    yield backend
    registry.unregister("fake-test")


@pytest.fixture
def source():
    return Source.objects.create(kind="fake-test", name="Source de test")


def test_first_run_creates_everything(fake, source):
    run = run_source(source)
    assert run.status == Run.Status.SUCCEEDED
    assert run.counts == {"created": 5, "updated": 0, "unchanged": 0, "archived": 0, "failed": 0}
    assert run.pages_done == 3 and run.complete
    assert Item.objects.filter(source=source).count() == 5
    assert Item.objects.get(source=source, remote_id="r0").target_key == "fake:r0"


def test_second_run_is_idempotent_and_does_not_rewrite_unchanged(fake, source):
    run_source(source)
    writes = fake.writes
    run = run_source(source)
    assert run.counts == {"created": 0, "updated": 0, "unchanged": 5, "archived": 0, "failed": 0}
    assert fake.writes == writes
    assert Item.objects.filter(source=source).count() == 5


def test_force_reapplies_unchanged_records(fake, source):
    run_source(source)
    writes = fake.writes
    run = run_source(source, force=True)
    assert (run.updated, run.unchanged) == (5, 0) and fake.writes == writes + 5


def test_changed_record_is_updated(fake, source):
    run_source(source)
    fake.remote[2] = {"id": "r2", "title": "Titre modifié"}
    run = run_source(source)
    assert (run.created, run.updated, run.unchanged) == (0, 1, 4)
    assert fake.store["r2"]["title"] == "Titre modifié"


def test_per_item_error_does_not_abort_the_run(fake, source):
    fake.remote[1] = {"id": "r1", "bad": True}
    run = run_source(source)
    assert run.status == Run.Status.SUCCEEDED
    assert (run.created, run.failed) == (4, 1)
    error = ItemError.objects.get(run=run)
    assert (error.page, error.remote_id, error.field, error.message) == (1, "r1", "titre", "Le titre est vide.")
    assert "élément r1" in error.describe() and "champ titre" in error.describe()
    assert "1 élément(s) en erreur" in run.message


def test_failure_mid_run_keeps_data_and_archives_nothing(fake, source):
    run_source(source)
    fake.remote = fake.remote[:1] + [{"id": "r1", "title": "changé"}] + fake.remote[2:3]  # r3, r4 vanished…
    fake.fail_on_page = 2  # …but the run fails before it can know for sure
    run = run_source(source)
    assert run.status == Run.Status.FAILED
    assert run.message == "Le serveur distant a répondu 500 à la page 2."
    assert run.archived == 0 and not run.complete
    assert fake.archived == []
    assert Item.objects.filter(source=source, archived_at__isnull=True).count() == 5
    assert set(fake.store) == {"r0", "r1", "r2", "r3", "r4"}


def test_vanished_items_archived_after_a_complete_run(fake, source):
    run_source(source)
    fake.remote = [r for r in fake.remote if r["id"] not in ("r1", "r4")]
    run = run_source(source)
    assert run.status == Run.Status.SUCCEEDED and run.archived == 2
    assert sorted(fake.archived) == ["r1", "r4"]
    assert set(Item.objects.filter(source=source, archived_at__isnull=False).values_list("remote_id", flat=True)) == {"r1", "r4"}
    # It comes back: restored, counted as updated.
    fake.remote.append({"id": "r1", "title": "Titre 1"})
    run = run_source(source)
    assert run.updated == 1 and Item.objects.get(source=source, remote_id="r1").archived_at is None


def test_item_failing_in_a_complete_run_is_not_archived(fake, source):
    run_source(source)
    fake.remote[0] = {"id": "r0", "bad": True}
    run = run_source(source)
    assert run.failed == 1 and run.archived == 0
    assert fake.archived == []


def test_killed_run_is_detected_dead_and_resumed_from_its_last_committed_page(fake, source):
    fake.crash_after_page = 1
    with pytest.raises(KeyboardInterrupt):
        run_source(source)
    killed = Run.objects.get(source=source)
    assert killed.status == Run.Status.RUNNING and killed.cursor == "2" and killed.pages_done == 1
    Run.objects.filter(pk=killed.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=30))
    assert detect_dead_runs(15) == 1
    killed.refresh_from_db()
    assert killed.status == Run.Status.DEAD and "interrompu" in killed.message

    fake.crash_after_page = None
    fake.pages_started.clear()
    run = run_source(source)
    assert fake.pages_started == [2, 3]  # resumed after the committed page
    assert run.resumed_from_id == killed.pk
    assert run.status == Run.Status.SUCCEEDED and run.created == 3 and run.archived == 0
    assert Item.objects.filter(source=source).count() == 5


def test_running_run_blocks_a_second_one(fake, source):
    Run.objects.create(source=source, status=Run.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    with pytest.raises(IngestError, match="déjà en cours"):
        run_source(source)


def test_cancel_between_pages_archives_nothing(fake, source):
    run_source(source)
    fake.remote = fake.remote[:3]

    def cancel(page_no):
        if page_no == 2:
            request_cancel(Run.objects.filter(source=source).order_by("-id").first())

    fake.on_page = cancel
    run = run_source(source)
    assert run.status == Run.Status.CANCELLED and run.archived == 0 and fake.archived == []
    assert "annulé" in run.message


def test_time_limit_stops_the_run_and_next_run_resumes(fake, source):
    run = run_source(source, time_limit_s=1e-9)
    assert run.status == Run.Status.FAILED and "Durée maximale dépassée" in run.message
    assert run.pages_done == 1 and run.can_resume
    fake.pages_started.clear()
    run = run_source(source)
    assert fake.pages_started == [2, 3] and run.status == Run.Status.SUCCEEDED


def test_dry_run_counts_but_writes_nothing(fake, source):
    fake.remote[3] = {"id": "r3", "bad": True}
    run = run_source(source, dry_run=True)
    assert run.dry_run and run.status == Run.Status.SUCCEEDED
    assert (run.created, run.failed) == (4, 1)
    assert Item.objects.filter(source=source).count() == 0
    assert ItemError.objects.filter(run=run).count() == 1


def test_unknown_kind_and_missing_file(source):
    source.kind = "nothing-registered"
    with pytest.raises(IngestError, match="Aucun analyseur"):
        run_source(source)


def test_local_file_outside_allowed_roots_is_refused(fake, source, tmp_path, settings):
    from regio.core.ingest.engine import Fetcher

    outside = tmp_path / "x.csv"
    outside.write_text("a")
    source.file_path = str(outside)
    settings.INGEST_FILE_ROOTS = [settings.SHARED_DIR]
    with pytest.raises(IngestError, match="Fichier refusé"):
        Fetcher(source).document()
    settings.INGEST_FILE_ROOTS = [tmp_path]
    assert Fetcher(source).document().text() == "a"


def test_management_command_runs_a_source(fake, source, capsys):
    call_command("ingest", "run", str(source.pk))
    out = capsys.readouterr().out
    assert "créés 5" in out
    assert Run.objects.filter(source=source, status=Run.Status.SUCCEEDED).count() == 1


def test_background_task_runs_a_source(fake, source, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from regio.core.ingest.tasks import run_source_task

    result = run_source_task.enqueue(source.pk)
    assert result.return_value["status"] == "succeeded" and result.return_value["created"] == 5


def test_due_sources_are_run_by_schedule(fake, source, settings, capsys):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    source.schedule_minutes = 60
    source.save()
    assert source.is_due()
    call_command("ingest", "due")
    assert "1 source(s) mise(s) en file." in capsys.readouterr().out
    assert Run.objects.filter(source=source, status=Run.Status.SUCCEEDED).count() == 1
    assert not source.is_due()  # ran less than 60 minutes ago


# --------------------------------------------------------------------------- page-level (bulk) writes


class FakeBulkBackend(FakeBackend):
    """Writes a page at once; a record with ``"dberror"`` makes the whole bulk write fail (as a database
    constraint would), ``"defer"`` is left to the one-at-a-time path."""

    bulk = True

    def __init__(self):
        super().__init__()
        self.bulk_calls: list[list[str]] = []

    def upsert_many(self, source, records):
        from django.db import IntegrityError

        from regio.core.ingest.models import Item as ItemModel

        self.bulk_calls.append([r.remote_id for r in records])
        outcomes = []
        for r in records:
            if r.payload.get("bad"):
                outcomes.append(IngestItemError("Le titre est vide.", field="titre"))
            elif r.payload.get("defer"):
                outcomes.append(registry.DEFER)
            else:
                outcomes.append(f"fake:{r.remote_id}")
        if any(r.payload.get("dberror") for r in records):
            # a real write before the failure: rolled back with the page's bulk savepoint
            ItemModel.objects.filter(source=source).update(target_key="écrit par le lot")
            raise IntegrityError("UNIQUE constraint failed: fake.title")
        for r, outcome in zip(records, outcomes, strict=True):
            if isinstance(outcome, str):
                self.writes += 1
                self.store[r.remote_id] = dict(r.payload)
        return outcomes

    def upsert(self, source, record):
        from django.db import IntegrityError

        if record.payload.get("dberror"):
            raise IntegrityError("UNIQUE constraint failed: fake.title")
        return super().upsert(source, record)


@pytest.fixture
def bulk():
    backend = FakeBulkBackend()
    registry.register("fake-bulk", backend)
    backend.page_size = 4
    backend.remote = [{"id": f"r{i}", "title": f"Titre {i}"} for i in range(6)]
    yield backend
    registry.unregister("fake-bulk")


@pytest.fixture
def bulk_source():
    return Source.objects.create(kind="fake-bulk", name="Source en lot")


def test_bulk_backend_writes_each_page_at_once_and_skips_unchanged(bulk, bulk_source):
    run = run_source(bulk_source)
    assert run.counts == {"created": 6, "updated": 0, "unchanged": 0, "archived": 0, "failed": 0}
    assert bulk.bulk_calls == [["r0", "r1", "r2", "r3"], ["r4", "r5"]]
    assert Item.objects.get(source=bulk_source, remote_id="r5").target_key == "fake:r5"
    bulk.remote[1] = {"id": "r1", "title": "changé"}
    bulk.bulk_calls.clear()
    run = run_source(bulk_source)
    assert (run.created, run.updated, run.unchanged) == (0, 1, 5)
    assert bulk.bulk_calls == [["r1"]]  # only the changed record is written


def test_bulk_per_record_refusals_and_deferred_records(bulk, bulk_source):
    bulk.remote[1] = {"id": "r1", "bad": True}
    bulk.remote[2] = {"id": "r2", "title": "Titre 2", "defer": True}
    bulk.remote.append({"id": "r0", "title": "Titre 0 bis"})  # the same remote id twice in a page: after the others
    bulk.page_size = 7
    run = run_source(bulk_source)
    assert (run.created, run.updated, run.failed) == (5, 1, 1)
    error = ItemError.objects.get(run=run)
    assert (error.remote_id, error.field, error.message) == ("r1", "titre", "Le titre est vide.")
    assert bulk.store["r2"]["title"] == "Titre 2" and bulk.store["r0"]["title"] == "Titre 0 bis"


def test_bulk_write_failure_falls_back_to_one_record_at_a_time(bulk, bulk_source):
    run_source(bulk_source)
    bulk.remote[2] = {"id": "r2", "title": "Titre 2 modifié", "dberror": True}  # breaks the page's bulk write
    bulk.remote[1] = {"id": "r1", "title": "Titre 1 modifié"}
    run = run_source(bulk_source)
    assert run.status == Run.Status.SUCCEEDED
    assert (run.updated, run.unchanged, run.failed) == (1, 4, 1)
    error = ItemError.objects.get(run=run)
    assert error.remote_id == "r2" and error.page == 1
    assert error.message.startswith("Enregistrement impossible en base de données : IntegrityError")
    assert bulk.store["r1"]["title"] == "Titre 1 modifié"
    # the failed bulk write was rolled back; the item of the failing record is still seen (not archived)
    assert not Item.objects.filter(target_key="écrit par le lot").exists()
    r2 = Item.objects.get(source=bulk_source, remote_id="r2")
    assert r2.last_seen_run_id == run.pk and r2.archived_at is None


def test_bulk_dry_run_writes_nothing(bulk, bulk_source):
    run = run_source(bulk_source, dry_run=True)
    assert run.created == 6 and not Item.objects.filter(source=bulk_source).exists()
