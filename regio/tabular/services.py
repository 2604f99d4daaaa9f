"""Actions on tabular resources: submit a file (or URL) for conversion, convert it."""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from regio.core.http import FetchError, fetch

from . import conf
from .engine.convert import convert_file
from .engine.duck import reader_cursor
from .engine.errors import TabularError
from .engine.sortindex import ROW_NUMBER, build_all_columns, remove_index
from .models import RemoteCheck, Status, TabularResource

log = logging.getLogger(__name__)


def _folder(resource_key: str) -> Path:
    return conf.tabular_root() / hashlib.sha256(resource_key.encode()).hexdigest()[:20]


def submit_file(resource_key: str, path: str | Path, *, name: str = "", title: str = "") -> TabularResource:
    """Register (or re-register) a resource file and queue its conversion in the background."""
    return _submit(resource_key, str(path), name or Path(str(path)).name, title)


def submit_url(resource_key: str, url: str, *, title: str = "") -> TabularResource:
    """Same as :func:`submit_file` for a remote file, downloaded through the SSRF-safe client."""
    return _submit(resource_key, url, Path(urlsplit(url).path).name or "fichier", title)


def _submit(resource_key: str, source: str, name: str, title: str) -> TabularResource:
    from .tasks import convert_resource_task

    with transaction.atomic():
        resource, _created = TabularResource.objects.select_for_update().get_or_create(
            resource_key=resource_key, defaults={"source": source}
        )
        resource.source = source
        resource.source_name = name
        if title:
            resource.title = title
        resource.status = Status.QUEUED
        resource.error = ""
        resource.save()
    convert_resource_task.enqueue(resource.pk)
    return resource


def is_remote(resource: TabularResource) -> bool:
    return resource.source.startswith(("http://", "https://"))


def _source_copy(resource: TabularResource) -> Path:
    """Where the last successfully converted download of a remote file is kept."""
    return _folder(resource.resource_key) / "source" / (resource.source_name or "fichier")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Download:
    """A new download of a remote file, beside (never over) the copy of the version converted."""

    path: Path
    status: int
    etag: str
    last_modified: str
    sha256: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size


def download(resource: TabularResource, *, conditional: bool = False) -> Download | None:
    """Fetch the remote file through the SSRF-safe client into a new temporary file. With
    ``conditional``, send the converted version's ETag / Last-Modified: ``None`` when the server
    answers 304 (not modified). Raises :class:`FetchError` (French message); nothing is overwritten."""
    incoming = _folder(resource.resource_key) / "source" / f".incoming-{uuid.uuid4().hex}"
    try:
        result = fetch(
            resource.source, to_file=incoming, max_bytes=conf.download_max_bytes(),
            etag=resource.remote_etag if conditional else "", last_modified=resource.remote_last_modified if conditional else "",
        )
    except BaseException:
        incoming.unlink(missing_ok=True)
        raise
    if result.not_modified:
        incoming.unlink(missing_ok=True)
        return None
    return Download(incoming, result.status, result.etag, result.last_modified, _sha256(incoming))


def convert_resource(resource: TabularResource, *, new_download: Download | None = None, error_prefix: str = "") -> TabularResource:
    """Convert now (what the background task runs). A failure keeps the last good Parquet file (and,
    for a remote file, the copy of the version it was made from). ``new_download``: a download of the
    remote file already made (by the change check), converted instead of downloading again."""
    TabularResource.objects.filter(pk=resource.pk).update(status=Status.PROCESSING, error="")
    folder = _folder(resource.resource_key)
    out = folder / f"{uuid.uuid4().hex}.parquet"
    fresh = new_download

    def failed(message: str) -> TabularResource:
        out.unlink(missing_ok=True)
        if fresh is not None:
            fresh.path.unlink(missing_ok=True)
        resource.status = Status.FAILED
        resource.error = f"{error_prefix}{message}"
        resource.save(update_fields=["status", "error", "updated_at"])
        _converted(resource)
        return resource

    try:
        if is_remote(resource):
            if fresh is None:
                try:
                    fresh = download(resource)
                except FetchError as exc:
                    raise TabularError(f"Le fichier n'a pas pu être téléchargé : {exc}", code="download") from exc
            source = fresh.path
        else:
            source = Path(resource.source)
        result = convert_file(source, out, name=resource.source_name, limits=conf.conversion_limits(), work_dir=folder / "tmp")
    except TabularError as exc:
        return failed(str(exc))
    except Exception as exc:  # never leave a resource "processing" forever
        log.exception("conversion de %s", resource.resource_key)
        return failed(f"Erreur inattendue pendant la conversion ({exc.__class__.__name__}). L'équipe technique a été prévenue.")
    if fresh is not None:
        # The new version is readable: it becomes the kept copy (validation reads it).
        source = _source_copy(resource)
        os.replace(fresh.path, source)
        if resource.source_sha256 and resource.source_sha256 != fresh.sha256:
            resource.source_changed_at = timezone.now()  # the data was updated on the remote server
        resource.remote_etag = fresh.etag
        resource.remote_last_modified = fresh.last_modified
        resource.source_sha256 = fresh.sha256
        resource.next_remote_check_at = timezone.now() + conf.remote_check_interval()
    if result.row_count >= conf.sort_index_min_rows():
        # Columns of very many distinct values (identifiers, free text) are ranked only if a page sorts
        # or filters on them: their distinct values would cost memory and disk for nothing otherwise.
        _build_sort_index(out, [c["name"] for c in result.columns if (c.get("distinct") or 0) <= RANK_AT_CONVERSION_MAX_DISTINCT])
    previous = resource.parquet_path
    resource.status = Status.READY
    resource.error = ""
    resource.format = result.format
    resource.size_bytes = source.stat().st_size
    resource.parquet_path = str(out)
    resource.row_count = result.row_count
    resource.columns = result.columns
    resource.dialect = result.dialect
    resource.converted_at = timezone.now()
    resource.save()
    if previous and previous != str(out):
        Path(previous).unlink(missing_ok=True)
        remove_index(Path(previous))
    _converted(resource)
    return resource


RANK_AT_CONVERSION_MAX_DISTINCT = 1_000_000


def _build_sort_index(parquet: Path, columns: list[str]) -> None:
    """Rank the columns of a large file for sorted pages; if that fails, pages build what they need themselves."""
    con = reader_cursor()
    try:
        if ROW_NUMBER not in columns:
            build_all_columns(con, parquet, columns)
    except Exception:  # noqa: BLE001 - an index is an optimisation, never a reason to fail a conversion
        log.exception("index de tri de %s", parquet)
    finally:
        con.close()


def _converted(resource: TabularResource) -> None:
    """Tell listeners (quality: schema validation, score); a listener's failure never fails the conversion."""
    from .signals import resource_converted

    for _receiver, result in resource_converted.send_robust(sender=TabularResource, resource=resource):
        if isinstance(result, Exception):
            log.error("après conversion de %s : %r", resource.resource_key, result)


def local_source(resource: TabularResource) -> Path | None:
    """The local copy of the original file (uploaded file, or the last converted download of a URL), if any."""
    if is_remote(resource):
        target = _source_copy(resource)
        return target if target.is_file() else None
    path = Path(resource.source)
    return path if path.is_file() else None


def delete_resource(resource_key: str) -> None:
    resource = TabularResource.objects.filter(resource_key=resource_key).first()
    if resource is None:
        return
    if resource.parquet_path:
        Path(resource.parquet_path).unlink(missing_ok=True)
        remove_index(Path(resource.parquet_path))
    resource.delete()


# --------------------------------------------------------------------------- remote files that change


def check_remote_source(resource: TabularResource) -> RemoteCheck | None:
    """Has the remote file changed since the version converted? A conditional GET (ETag /
    Last-Modified of that version) through the SSRF-safe client; when the server has no validator
    or ignores them, the SHA-256 of the body is compared. A new version is converted (then validated
    and scored through ``resource_converted``) at once; if it cannot be downloaded or read, the
    previous Parquet file stays served and the failure is kept, in French, in the check history."""
    if not is_remote(resource):
        return None
    now = timezone.now()
    TabularResource.objects.filter(pk=resource.pk).update(next_remote_check_at=now + conf.remote_check_interval())
    check = RemoteCheck(resource=resource, checked_at=now)
    try:
        fresh = download(resource, conditional=resource.has_data)
    except FetchError as exc:
        check.outcome = RemoteCheck.Outcome.FAILED
        check.status_code = exc.status
        check.error = f"Le fichier distant n'a pas pu être téléchargé : {exc}"
        check.save()
        return check
    if fresh is None:
        check.outcome, check.status_code = RemoteCheck.Outcome.UNCHANGED, 304
        check.etag, check.last_modified, check.sha256 = resource.remote_etag, resource.remote_last_modified, resource.source_sha256
        check.save()
        return check
    check.status_code, check.etag, check.last_modified = fresh.status, fresh.etag, fresh.last_modified
    check.size_bytes, check.sha256 = fresh.size, fresh.sha256
    known = resource.source_sha256
    if not known and resource.has_data and (copy := local_source(resource)) is not None:
        known = _sha256(copy)
    if resource.has_data and fresh.sha256 == known:
        fresh.path.unlink(missing_ok=True)
        TabularResource.objects.filter(pk=resource.pk).update(
            remote_etag=fresh.etag, remote_last_modified=fresh.last_modified, source_sha256=fresh.sha256
        )
        check.outcome = RemoteCheck.Outcome.UNCHANGED
        check.save()
        return check
    resource = convert_resource(
        resource, new_download=fresh, error_prefix="Une nouvelle version du fichier distant a été détectée mais n'a pas pu être lue : "
    )
    if resource.status == Status.READY:
        check.outcome, check.row_count = RemoteCheck.Outcome.CHANGED, resource.row_count
    else:
        check.outcome, check.error = RemoteCheck.Outcome.CONVERSION_FAILED, resource.error
    check.save()
    return check


def due_remote_sources(limit: int = 200):
    from django.db.models import Q

    now = timezone.now()
    return (
        TabularResource.objects.filter(Q(source__startswith="http://") | Q(source__startswith="https://"))
        .filter(status__in=[Status.READY, Status.FAILED])
        .filter(Q(next_remote_check_at__lte=now) | Q(next_remote_check_at__isnull=True))
        .order_by(F("next_remote_check_at").asc(nulls_first=True), "pk")[:limit]
    )


def enqueue_due_remote_checks(*, limit: int = 200) -> int:
    """Queue a change check (its own background task) for every remote file that is due."""
    from .tasks import check_remote_source_task

    ids = list(due_remote_sources(limit).values_list("pk", flat=True))
    # Pushed forward first, so a slow worker never gets the same check queued twice.
    TabularResource.objects.filter(pk__in=ids).update(next_remote_check_at=timezone.now() + conf.remote_check_interval())
    for pk in ids:
        check_remote_source_task.enqueue(pk)
    return len(ids)
