"""Register schemas, validate resources, suggest a schema, check links."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from regio.core.http import FetchError, TooLargeError, fetch

from .models import CheckedLink, LinkCheck, TableSchema, ValidationReport
from .validation import header_score, validate_file

SCHEMA_MAX_BYTES = 5 * 1024 * 1024
MATCH_THRESHOLD = 50
LINK_CHECK_INTERVAL = timedelta(days=1)


class SchemaError(Exception):
    """A schema could not be registered; ``str(exc)`` is French."""


def register_schema_from_url(url: str, *, allow_private: bool | None = None) -> TableSchema:
    try:
        result = fetch(url, max_bytes=SCHEMA_MAX_BYTES, allow_private=allow_private)
    except FetchError as exc:
        raise SchemaError(f"Le schéma n'a pas pu être téléchargé : {exc}") from exc
    try:
        descriptor = json.loads(result.content)
    except ValueError as exc:
        content_type = result.headers.get("content-type", "inconnu")
        raise SchemaError(
            f"L'adresse {url} ne renvoie pas un document JSON (type reçu : {content_type}) : "
            "indiquez l'adresse du fichier schema.json lui-même."
        ) from exc
    return register_schema(descriptor, source_url=url)


def register_schema_from_file(file, *, source_url: str = "") -> TableSchema:
    """``file`` is a path or a readable binary file object (an upload)."""
    raw = Path(file).read_bytes() if isinstance(file, str | Path) else file.read()
    if len(raw) > SCHEMA_MAX_BYTES:
        raise SchemaError("Le fichier de schéma dépasse 5 Mo.")
    try:
        descriptor = json.loads(raw)
    except ValueError as exc:
        raise SchemaError("Le fichier n'est pas un document JSON valide : un fichier schema.json (Table Schema) est attendu.") from exc
    return register_schema(descriptor, source_url=source_url)


def register_schema(descriptor, *, source_url: str = "") -> TableSchema:
    from frictionless import FrictionlessException, Schema

    if not isinstance(descriptor, dict) or not isinstance(descriptor.get("fields"), list) or not descriptor["fields"]:
        raise SchemaError("Le document JSON n'est pas un Table Schema : la liste « fields » des colonnes est absente ou vide.")
    try:
        schema = Schema.from_descriptor(descriptor)
    except FrictionlessException as exc:
        raise SchemaError(f"Le Table Schema est invalide : {exc.error.note or exc.error.message}") from exc
    names = [f.name for f in schema.fields]
    name = str(descriptor.get("name") or slugify(descriptor.get("title") or "") or "schema")
    version = str(descriptor.get("version") or "")
    slug = slugify(f"{name}-{version}" if version else name)[:200]
    with transaction.atomic():
        obj, _ = TableSchema.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "title": str(descriptor.get("title") or name),
                "version": version,
                "description": str(descriptor.get("description") or "")[:5000],
                "source_url": source_url,
                "descriptor": descriptor,
                "field_names": names,
            },
        )
    return obj


def match_schemas(header: list[str], *, threshold: int = MATCH_THRESHOLD) -> list[dict]:
    """Registered schemas ranked by header overlap (score 0–100), best first, above ``threshold``."""
    ranked = []
    for schema in TableSchema.objects.all():
        score = header_score(header, schema.field_names)
        if score >= threshold:
            ranked.append({"schema": schema, "score": score})
    ranked.sort(key=lambda x: (-x["score"], x["schema"].title, x["schema"].version))
    return ranked


def validate_resource(resource_key: str, path: str | Path, schema: TableSchema) -> ValidationReport:
    """Validate a resource file against a registered schema and store the French report."""
    from regio.tabular.engine import sniff

    path = Path(path)
    encoding = delimiter = None
    if sniff.detect_format(path) == "csv":
        sample = sniff.read_sample(path)
        if not sniff.looks_binary(sample):
            encoding = sniff.detect_encoding(sample)
            delimiter = sniff.sniff_dialect(sample.decode(encoding, errors="ignore").lstrip("\ufeff"), complete=len(sample) < sniff.SAMPLE_BYTES).delimiter
    result = validate_file(path, schema.descriptor, encoding=encoding, delimiter=delimiter)
    # One current report per (resource, schema): a new validation replaces the previous one.
    ValidationReport.objects.filter(resource_key=resource_key, schema=schema).delete()
    return ValidationReport.objects.create(
        resource_key=resource_key,
        schema=schema,
        valid=result["valid"],
        error_count=result["error_count"],
        row_count=result["row_count"],
        errors=result["errors"],
        truncated=result["truncated"],
    )


# --------------------------------------------------------------------------- links


def watch_link(url: str) -> CheckedLink:
    link, _ = CheckedLink.objects.get_or_create(url=url, defaults={"next_check_at": timezone.now()})
    return link


def check_link(link: CheckedLink | str, *, allow_private: bool | None = None) -> LinkCheck:
    """Check one URL (HEAD, then a bounded GET if HEAD is refused) and keep the result in its history."""
    if isinstance(link, str):
        link = watch_link(link)
    start = time.monotonic()
    ok, status, error = False, None, ""
    try:
        result = fetch(link.url, method="HEAD", retries=1, allow_private=allow_private, max_bytes=64 * 1024)
        ok, status = True, result.status
    except FetchError as exc:
        status = exc.status
        error = str(exc)
        if exc.status in (403, 405, 501) or exc.status is None and not isinstance(exc, TooLargeError):
            try:
                result = fetch(link.url, retries=0, allow_private=allow_private, max_bytes=64 * 1024)
                ok, status, error = True, result.status, ""
            except TooLargeError:
                ok, error = True, ""  # it answered with a body: reachable
            except FetchError as again:
                status, error = again.status or status, str(again)
        elif isinstance(exc, TooLargeError):
            ok, error = True, ""
    now = timezone.now()
    check = LinkCheck.objects.create(
        link=link, checked_at=now, ok=ok, status_code=status, error=error, duration_ms=int((time.monotonic() - start) * 1000)
    )
    link.available = ok
    link.last_status = status
    link.last_error = error
    link.last_checked_at = now
    link.consecutive_failures = 0 if ok else link.consecutive_failures + 1
    # Broken links are re-checked sooner, up to the normal interval.
    link.next_check_at = now + (LINK_CHECK_INTERVAL if ok else min(LINK_CHECK_INTERVAL, timedelta(hours=2**link.consecutive_failures)))
    link.save()
    from .signals import link_checked

    link_checked.send_robust(sender=CheckedLink, link=link, check=check)
    return check


def check_due_links(*, limit: int = 200, allow_private: bool | None = None) -> int:
    now = timezone.now()
    due = CheckedLink.objects.filter(next_check_at__lte=now).order_by("next_check_at")[:limit]
    count = 0
    for link in due:
        check_link(link, allow_private=allow_private)
        count += 1
    return count
