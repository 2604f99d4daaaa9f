"""Actions on tabular resources: submit a file (or URL) for conversion, convert it."""

from __future__ import annotations

import hashlib
import logging
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from regio.core.http import FetchError, fetch

from . import conf
from .engine.convert import convert_file
from .engine.errors import TabularError
from .models import Status, TabularResource

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


def _local_source(resource: TabularResource) -> Path:
    if resource.source.startswith(("http://", "https://")):
        target = _folder(resource.resource_key) / "source" / (resource.source_name or "fichier")
        try:
            fetch(resource.source, to_file=target, max_bytes=conf.download_max_bytes())
        except FetchError as exc:
            raise TabularError(f"Le fichier n'a pas pu être téléchargé : {exc}", code="download") from exc
        return target
    return Path(resource.source)


def convert_resource(resource: TabularResource) -> TabularResource:
    """Convert now (what the background task runs). A failure keeps the last good Parquet file."""
    TabularResource.objects.filter(pk=resource.pk).update(status=Status.PROCESSING, error="")
    folder = _folder(resource.resource_key)
    out = folder / f"{uuid.uuid4().hex}.parquet"
    try:
        source = _local_source(resource)
        result = convert_file(source, out, name=resource.source_name, limits=conf.conversion_limits(), work_dir=folder / "tmp")
    except TabularError as exc:
        out.unlink(missing_ok=True)
        resource.status = Status.FAILED
        resource.error = str(exc)
        resource.save(update_fields=["status", "error", "updated_at"])
        _converted(resource)
        return resource
    except Exception as exc:  # never leave a resource "processing" forever
        log.exception("conversion de %s", resource.resource_key)
        out.unlink(missing_ok=True)
        resource.status = Status.FAILED
        resource.error = f"Erreur inattendue pendant la conversion ({exc.__class__.__name__}). L'équipe technique a été prévenue."
        resource.save(update_fields=["status", "error", "updated_at"])
        _converted(resource)
        return resource
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
    _converted(resource)
    return resource


def _converted(resource: TabularResource) -> None:
    """Tell listeners (quality: schema validation, score); a listener's failure never fails the conversion."""
    from .signals import resource_converted

    for _receiver, result in resource_converted.send_robust(sender=TabularResource, resource=resource):
        if isinstance(result, Exception):
            log.error("après conversion de %s : %r", resource.resource_key, result)


def local_source(resource: TabularResource) -> Path | None:
    """The local copy of the original file (uploaded file, or the last download of a URL), if any."""
    if resource.source.startswith(("http://", "https://")):
        target = _folder(resource.resource_key) / "source" / (resource.source_name or "fichier")
        return target if target.is_file() else None
    path = Path(resource.source)
    return path if path.is_file() else None


def delete_resource(resource_key: str) -> None:
    resource = TabularResource.objects.filter(resource_key=resource_key).first()
    if resource is None:
        return
    if resource.parquet_path:
        Path(resource.parquet_path).unlink(missing_ok=True)
    resource.delete()
