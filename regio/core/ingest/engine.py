"""``run_source``: one run of one source, page by page, idempotent, resumable, never destructive on failure.

Guarantees:

* every remote request goes through :func:`regio.core.http.fetch` (or reads the source's local file);
* each page is committed in its own transaction together with the run's cursor and heartbeat, so a
  killed worker loses at most the page in progress and the next run resumes after the last
  committed page;
* records are upserted on ``(source, remote_id)``; a record whose content hash did not change is not
  rewritten; a failing record becomes an :class:`ItemError` and the run goes on;
* items that vanished are archived only at the end of a run that read every page without a
  run-level error (a failed, cancelled, timed-out or dead run archives nothing);
* a dry run computes the same counts and errors and rolls every write back.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import queue
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connections, models, transaction
from django.utils import timezone

from regio.core import http
from regio.core.ingest import registry
from regio.core.ingest.bulk import insert_objects
from regio.core.ingest.models import Item, ItemError, Run, Source, allowed_file_roots
from regio.core.ingest.registry import IngestError, IngestItemError, NotModified, Record

log = logging.getLogger(__name__)

DEAD_AFTER_MINUTES = 15


class RunInProgress(IngestError):
    pass


class _Rollback(Exception):
    pass


def content_hash(payload) -> str:
    data = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


class Fetcher:
    """What a backend uses to read: ``fetch(url, **kw)`` (SSRF-safe) and ``fetch.document()``."""

    def __init__(self, source: Source):
        self.src = source
        self.validators: dict[str, str] = {}
        self._client = None
        self._client_timeout = None

    def __call__(self, url: str, **kwargs) -> http.FetchResult:
        options = self.src.filters or {}
        kwargs.setdefault("timeout", options.get("timeout_s"))
        if "retries" in options:
            kwargs.setdefault("retries", int(options["retries"]))
        # One HTTP client (kept-alive connections) for the whole run; fetch still checks every URL and
        # redirect hop (SSRF), caps sizes and retries. A request with another time-out gets its own client.
        timeout = float(kwargs.get("timeout") or settings.HTTP_TIMEOUT_S)
        if "client" not in kwargs:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False)
                self._client_timeout = timeout
            if timeout == self._client_timeout:
                kwargs["client"] = self._client
        return http.fetch(url, **kwargs)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def local_path(self) -> Path | None:
        raw = self.src.file_path
        if not raw and self.src.url.startswith("file://"):
            raw = url2pathname(urlsplit(self.src.url).path)
        if not raw:
            return None
        path = Path(raw).resolve()
        if not any(path.is_relative_to(Path(root).resolve()) for root in allowed_file_roots()):
            raise IngestError(f"Fichier refusé : {path} n'est pas dans un dossier autorisé pour les imports.")
        if not path.is_file():
            raise IngestError(f"Le fichier {path} est introuvable.")
        return path

    def document(self, *, conditional: bool = True, **kwargs) -> http.FetchResult:
        """The source's own document: its local file, else its URL (with conditional GET)."""
        path = self.local_path()
        if path is not None:
            return http.FetchResult(url=path.as_uri(), status=200, path=path)
        if not self.src.url:
            raise IngestError("La source n'a ni adresse ni fichier.")
        if conditional:
            kwargs.setdefault("etag", self.src.etag)
            kwargs.setdefault("last_modified", self.src.last_modified)
        result = self(self.src.url, **kwargs)
        if result.not_modified:
            raise NotModified()
        self.validators = {"etag": result.etag[:300], "last_modified": result.last_modified[:100]}
        return result


def detect_dead_runs(minutes: int = DEAD_AFTER_MINUTES, source: Source | None = None) -> int:
    """Mark running runs without a heartbeat for ``minutes`` as dead (resumed by the next run)."""
    limit = timezone.now() - timedelta(minutes=minutes)
    qs = Run.objects.filter(status=Run.Status.RUNNING).filter(
        models.Q(heartbeat_at__lt=limit) | models.Q(heartbeat_at__isnull=True, started_at__lt=limit)
    )
    if source is not None:
        qs = qs.filter(source=source)
    return qs.update(
        status=Run.Status.DEAD,
        finished_at=timezone.now(),
        can_resume=True,
        message=f"Aucun signe de vie depuis plus de {minutes} minutes : passage considéré comme interrompu ; "
        "le prochain passage reprendra après la dernière page enregistrée.",
    )


def request_cancel(run: Run) -> None:
    Run.objects.filter(pk=run.pk, status__in=[Run.Status.QUEUED, Run.Status.RUNNING]).update(cancel_requested=True)


def _resumable(source: Source) -> Run | None:
    last = source.runs.filter(dry_run=False).exclude(status=Run.Status.QUEUED).order_by("-id").first()
    if last and last.can_resume and last.status in (Run.Status.DEAD, Run.Status.FAILED) and last.cursor:
        return last
    return None


class SourceDeleted(IngestError):
    pass


def start_run(source: Source, *, dry_run: bool = False, dead_after_minutes: int = DEAD_AFTER_MINUTES) -> Run:
    if source.deleted_at is not None:
        raise SourceDeleted(f"La source « {source.name} » a été supprimée le {timezone.localtime(source.deleted_at):%d/%m/%Y} : elle n'est plus importée.")
    detect_dead_runs(dead_after_minutes, source)
    if source.runs.filter(status=Run.Status.RUNNING).exists():
        raise RunInProgress(f"Un passage de la source « {source.name} » est déjà en cours.")
    previous = None if dry_run else _resumable(source)
    return Run.objects.create(
        source=source,
        dry_run=dry_run,
        resumed_from=previous,
        cursor=previous.cursor if previous else "",
        status=Run.Status.QUEUED,
    )


def run_source(
    source: Source,
    dry_run: bool = False,
    *,
    run: Run | None = None,
    time_limit_s: float | None = None,
    dead_after_minutes: int = DEAD_AFTER_MINUTES,
    force: bool = False,
) -> Run:
    """Run ``source`` now (in this process) and return the finished :class:`Run`.

    ``force`` re-applies every record even when its content hash did not change (after a change
    of the mapping code).
    """
    backend = registry.get(source.kind)
    if run is not None and source.deleted_at is not None:  # queued before the source was deleted
        run.status, run.finished_at = Run.Status.CANCELLED, timezone.now()
        run.message = "Source supprimée avant le début du passage : rien n'a été importé ni archivé."
        run.save(update_fields=["status", "finished_at", "message"])
        return run
    if run is None:
        run = start_run(source, dry_run=dry_run, dead_after_minutes=dead_after_minutes)
    limit = time_limit_s if time_limit_s is not None else source.time_limit_s
    started = time.monotonic()
    now = timezone.now()
    run.status, run.started_at, run.heartbeat_at = Run.Status.RUNNING, now, now
    run.save(update_fields=["status", "started_at", "heartbeat_at"])
    fetcher = Fetcher(source)
    seen_runs = run.chain_ids()
    page_no = run.pages_done + (run.resumed_from.pages_done if run.resumed_from else 0)
    outcome, message = Run.Status.SUCCEEDED, ""
    pages = backend.pages(source, run.cursor, fetcher)
    if getattr(backend, "prefetch_pages", False):
        pages = _prefetched(pages)
    try:
        for page in pages:
            page_no += 1
            if Run.objects.filter(pk=run.pk, cancel_requested=True).exists():
                outcome, message = Run.Status.CANCELLED, "Passage annulé à la demande ; rien n'a été archivé."
                break
            _commit_page(run, source, backend, page, page_no, seen_runs, dry_run, force)
            if limit and time.monotonic() - started > limit:
                outcome = Run.Status.FAILED
                message = (
                    f"Durée maximale dépassée ({int(limit)} s) après la page {page_no} : passage arrêté, "
                    "rien n'a été archivé ; le prochain passage reprendra à la page suivante."
                )
                run.can_resume = True
                break
        else:
            run.complete = True
    except NotModified:
        outcome, message = Run.Status.SUCCEEDED, "Source inchangée depuis le dernier passage (réponse 304)."
    except (http.FetchError, IngestError) as exc:
        outcome, message = Run.Status.FAILED, str(exc)
        run.can_resume = bool(run.cursor)
    except Exception as exc:  # a parser bug must not leave the run "running"
        log.exception("ingest run %s failed", run.pk)
        outcome, message = Run.Status.FAILED, f"Erreur inattendue pendant l'import : {exc.__class__.__name__} : {exc}"
        run.can_resume = bool(run.cursor)
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()
        fetcher.close()
    if run.complete and outcome == Run.Status.SUCCEEDED:
        run.can_resume = False
        if not dry_run:
            run.archived = _archive_vanished(source, backend, seen_runs)
            backend.finish(source, run)
            if fetcher.validators:
                Source.objects.filter(pk=source.pk).update(**fetcher.validators)
        if run.failed:
            message = f"Import terminé avec {run.failed} élément(s) en erreur."
    run.status, run.message, run.finished_at = outcome, message, timezone.now()
    run.save()
    return run


PER_ITEM_ERRORS = (IngestItemError, ValidationError, ValueError, KeyError, TypeError)


def _prefetched(pages):
    """Read the next page (HTTP and parsing, in a thread) while the current one is being written.

    Only for backends whose ``pages()`` touch no database (``prefetch_pages = True``). Pages, then the
    end or the exception of the reader, arrive in order; at most one page is read ahead, and a run
    that stops early (cancel, time limit, error) stops the reader.
    """
    box: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for page in pages:
                if not put(("page", page)):
                    return
            put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed over to the run's thread
            put(("error", exc))
        finally:
            connections.close_all()  # this thread's connections, if the reader opened any

    reader = threading.Thread(target=produce, name="ingest-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "page":
                yield value
            elif kind == "end":
                return
            else:
                raise value
    finally:
        stop.set()
        reader.join(timeout=30)


def _commit_page(run, source, backend, page, page_no, seen_runs, dry_run, force) -> None:
    """One page in one transaction: known items loaded at once, unchanged ones marked seen in one UPDATE,
    new and changed ones written by ``backend.upsert_many`` (constant number of queries) when the backend
    has it, else (or for the records of a page whose bulk write failed) one at a time with a savepoint each."""
    errors: list[ItemError] = []
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    for err in page.errors:
        errors.append(ItemError(run=run, page=page_no, remote_id=err.remote_id[:500], field=err.field, message=err.message))
        counts["failed"] += 1
        if not dry_run:
            Item.objects.filter(source=source, remote_id=err.remote_id).update(last_seen_run=run)
    try:
        with transaction.atomic():
            known: dict[str, Item] = {}
            ids = list(dict.fromkeys(str(r.remote_id)[:500] for r in page.records))
            for start in range(0, len(ids), 500):
                known.update((i.remote_id, i) for i in Item.objects.filter(source=source, remote_id__in=ids[start:start + 500]))
            seen: list[int] = []
            to_write: list[tuple[Record, str, str]] = []  # (record, remote id, digest), first occurrence of each remote id
            later: list[Record] = []  # a remote id repeated in the page: one at a time, after the others
            in_page: set[str] = set()
            for record in page.records:
                remote_id = str(record.remote_id)[:500]
                if remote_id in in_page:
                    later.append(record)
                    continue
                in_page.add(remote_id)
                digest = content_hash(record.payload)
                item = known.get(remote_id)
                if not force and item is not None and item.content_hash == digest and item.archived_at is None:
                    if not dry_run and item.last_seen_run_id != run.pk:
                        seen.append(item.pk)
                        item.last_seen_run_id = run.pk
                    counts["unchanged"] += 1
                else:
                    to_write.append((record, remote_id, digest))
            if to_write and getattr(backend, "bulk", False):
                deferred = _write_bulk(run, source, backend, to_write, page_no, errors, counts, known, seen, dry_run)
                later = deferred + later
            else:
                later = [r for r, _rid, _d in to_write] + later
            for record in later:
                result = _upsert_one(run, source, backend, record, page_no, errors, dry_run, force, known=known, seen=seen)
                counts[result] += 1
            if seen and not dry_run:
                for start in range(0, len(seen), 500):
                    Item.objects.filter(pk__in=seen[start:start + 500]).update(last_seen_run=run)
            if not dry_run:
                for name, value in counts.items():
                    setattr(run, name, getattr(run, name) + value)
                run.cursor = page.cursor[:1000]
                run.pages_done += 1
                run.heartbeat_at = timezone.now()
                run.save(update_fields=[*counts, "cursor", "pages_done", "heartbeat_at"])
                ItemError.objects.bulk_create(errors)
            else:
                raise _Rollback()
    except _Rollback:
        for name, value in counts.items():
            setattr(run, name, getattr(run, name) + value)
        run.pages_done += 1
        run.heartbeat_at = timezone.now()
        run.save(update_fields=[*counts, "pages_done", "heartbeat_at"])
        ItemError.objects.bulk_create(errors)


def _write_bulk(run, source, backend, to_write, page_no, errors, counts, known, seen, dry_run) -> list[Record]:
    """Write the page's new and changed records with ``backend.upsert_many`` and their items in bulk, in one
    savepoint. Returns the records left to the one-at-a-time path: those the backend deferred, or all of
    them when the bulk write failed (rolled back to the savepoint)."""
    records = [r for r, _rid, _d in to_write]
    try:
        with transaction.atomic():
            outcomes = backend.upsert_many(source, records)
            if len(outcomes) != len(records):
                raise IngestError("upsert_many doit renvoyer un résultat par enregistrement.")
            now = timezone.now()
            new_items, changed_items, failed = [], [], []
            page_counts = {"created": 0, "updated": 0, "failed": 0}
            deferred, page_errors = [], []
            for (record, remote_id, digest), outcome in zip(to_write, outcomes, strict=True):
                item = known.get(remote_id)
                if outcome is registry.DEFER:
                    deferred.append(record)
                    continue
                if isinstance(outcome, BaseException):
                    page_errors.append(_item_error(run, page_no, remote_id, outcome))
                    page_counts["failed"] += 1
                    if item is not None:
                        failed.append(item)
                    continue
                if item is None:
                    item = Item(source=source, remote_id=remote_id, first_seen_at=now)
                    new_items.append(item)
                    page_counts["created"] += 1
                else:
                    item = copy.copy(item)  # ``known`` stays as it was if the bulk write is rolled back
                    changed_items.append(item)
                    page_counts["updated"] += 1
                item.content_hash, item.last_seen_run, item.updated_at, item.archived_at = digest, run, now, None
                _set_target(item, outcome)
            insert_objects(new_items, key=["source", "remote_id"])
            Item.objects.bulk_update(
                changed_items, ["content_hash", "last_seen_run", "updated_at", "archived_at", "target_type", "target_id", "target_key"],
                batch_size=500,
            )
    except Exception as exc:  # noqa: BLE001 - any failure of the bulk write: one record at a time instead
        log.warning("ingest run %s page %s: bulk write failed (%s), records written one at a time", run.pk, page_no, exc)
        return records
    for item in new_items + changed_items:
        known[item.remote_id] = item
    for item in failed:
        if not dry_run and item.last_seen_run_id != run.pk:
            seen.append(item.pk)
            item.last_seen_run_id = run.pk
    errors.extend(page_errors)
    for name, value in page_counts.items():
        counts[name] += value
    return deferred


def _set_target(item: Item, target) -> None:
    if isinstance(target, models.Model):
        item.target_type = ContentType.objects.get_for_model(target)
        item.target_id = str(target.pk)
    elif target is not None:
        item.target_key = str(target)[:300]


def _item_error(run, page_no, remote_id, exc) -> ItemError:
    field = getattr(exc, "field", "")
    if isinstance(exc, ValidationError):
        message = " ; ".join(exc.messages)
        if hasattr(exc, "error_dict"):
            field = ", ".join(exc.error_dict)
    elif isinstance(exc, KeyError):
        message, field = "Champ obligatoire absent.", field or str(exc.args[0])
    elif isinstance(exc, DatabaseError):
        message = f"Enregistrement impossible en base de données : {exc.__class__.__name__} : {str(exc)[:300]}"
    else:
        message = str(exc)
    return ItemError(run=run, page=page_no, remote_id=remote_id, field=str(field)[:200], message=message)


def _upsert_one(run, source, backend, record: Record, page_no, errors, dry_run, force=False, *, known=None, seen=None) -> str:
    remote_id = str(record.remote_id)[:500]
    digest = content_hash(record.payload)
    if known is not None:  # the page's items were loaded at once (created ones are added below)
        item = known.get(remote_id)
    else:
        item = Item.objects.filter(source=source, remote_id=remote_id).first()
    if not force and item is not None and item.content_hash == digest and item.archived_at is None:
        if not dry_run and item.last_seen_run_id != run.pk:
            if seen is not None:
                seen.append(item.pk)
            else:
                Item.objects.filter(pk=item.pk).update(last_seen_run=run)
            item.last_seen_run_id = run.pk
        return "unchanged"
    try:
        with transaction.atomic():
            target = backend.upsert(source, record)
            now = timezone.now()
            if item is None:
                item = Item(source=source, remote_id=remote_id, first_seen_at=now)
                result = "created"
            else:
                item, result = copy.copy(item), "updated"
            item.content_hash, item.last_seen_run, item.updated_at, item.archived_at = digest, run, now, None
            _set_target(item, target)
            item.save()
            if known is not None:
                known[remote_id] = item
            return result
    except (*PER_ITEM_ERRORS, DatabaseError) as exc:
        # DatabaseError: the record's savepoint was rolled back, the page goes on.
        errors.append(_item_error(run, page_no, remote_id, exc))
        if item is not None and not dry_run:
            Item.objects.filter(pk=item.pk).update(last_seen_run=run)
        return "failed"


def _archive_vanished(source, backend, seen_runs) -> int:
    vanished = Item.objects.filter(source=source, archived_at__isnull=True).exclude(last_seen_run_id__in=seen_runs)
    count = 0
    for item in vanished.iterator():
        with transaction.atomic():
            backend.archive(source, item)
            Item.objects.filter(pk=item.pk).update(archived_at=timezone.now())
        count += 1
    return count
