"""/api/1/resources/{key}/…: status and profile, filtered pages, sandboxed SQL, downloads."""

from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, StreamingHttpResponse
from ninja import Query, Router
from ninja.errors import HttpError

from regio.core.pagination import clamp_page

from . import conf, selectors
from .engine import query
from .engine.errors import TabularError
from .engine.profile import jsonable

router = Router(tags=["Données tabulaires"])
XLSX_MAX_ROWS = 1_048_575
NOT_READY = {"pending", "failed", "missing"}


def _raise(exc: TabularError):
    raise HttpError(409 if exc.code in NOT_READY else 400, str(exc))


def _envelope(request, result: dict, page: int, page_size: int) -> dict:
    next_page = None
    if page * page_size < result["total"]:
        params = request.GET.copy()
        params["page"] = str(page + 1)
        params["page_size"] = str(page_size)
        next_page = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
    return {
        "data": result["rows"],
        "page": page,
        "page_size": page_size,
        "total": result["total"],
        "next_page": next_page,
        "columns": result["columns"],
    }


def serialize_resource(resource) -> dict:
    return {
        "resource_key": resource.resource_key,
        "title": resource.title,
        "source_name": resource.source_name,
        "status": resource.status,
        "status_label": resource.get_status_display(),
        "error": resource.error,
        "format": resource.format,
        "size_bytes": resource.size_bytes,
        "row_count": resource.row_count,
        "columns": resource.columns,
        "dialect": resource.dialect,
        "converted_at": resource.converted_at.isoformat() if resource.converted_at else None,
        "remote_checks": [
            {
                "checked_at": c.checked_at.isoformat(), "outcome": c.outcome, "outcome_label": c.get_outcome_display(),
                "status_code": c.status_code, "etag": c.etag, "last_modified": c.last_modified, "size_bytes": c.size_bytes,
                "sha256": c.sha256, "row_count": c.row_count, "error": c.error,
            }
            for c in resource.remote_checks.all()[:50]
        ],
    }


@router.get("/resources/{key}/tabular/", summary="État de conversion et profil des colonnes")
def resource_status(request, key: str):
    return serialize_resource(selectors.get_resource(key))


@router.get("/resources/{key}/data/", summary="Lignes filtrées, triées et paginées")
def resource_data(request, key: str, page: int = 1, page_size: int = settings.API_PAGE_SIZE, sort: str | None = None):
    """Filtres : `?colonne__exact=`, `__contains=`, `__lt=`, `__gt=`, `__lte=`, `__gte=` (ou `?colonne=valeur`) ;
    tri : `?sort=colonne` ou `?sort=-colonne` (plusieurs séparés par des virgules)."""
    page, page_size = clamp_page(page, page_size)
    resource = selectors.get_resource(key)
    try:
        result = selectors.page(resource, selectors.filter_params(request.GET), sort=sort, page=page, page_size=page_size)
    except TabularError as exc:
        _raise(exc)
    return _envelope(request, result, page, page_size)


@router.get("/resources/{key}/sql", summary="Requête SQL en lecture seule sur la table « data »")
def resource_sql(request, key: str, q: str = "", page: int = 1, page_size: int | None = None):
    """Une seule instruction SELECT (ou WITH … SELECT) ; la table s'appelle `data`. Aucun accès aux fichiers,
    au réseau, aux extensions ni aux réglages ; mémoire et durée limitées."""
    resource = selectors.get_resource(key)
    limits = conf.sandbox_limits()
    page_size = page_size or min(settings.API_MAX_PAGE_SIZE, limits.max_rows)
    page, page_size = clamp_page(page, page_size)
    try:
        result = selectors.sql(resource, q, page=page, page_size=page_size)
    except TabularError as exc:
        _raise(exc)
    return _envelope(request, result, page, page_size)


@router.get("/resources/{key}/download", summary="Télécharger les données (CSV, JSON, Parquet, XLSX)")
def resource_download(request, key: str, format: str = Query("csv"), sort: str | None = None):  # noqa: A002
    """Les mêmes filtres que `/data/` s'appliquent ; sans filtre ni tri, le fichier Parquet est servi tel quel."""
    resource = selectors.get_resource(key)
    fmt = format.lower()
    if fmt not in ("csv", "json", "parquet", "xlsx"):
        raise HttpError(400, "Format inconnu : choisissez csv, json, parquet ou xlsx.")
    try:
        parquet = selectors.ready_parquet(resource)
        params = selectors.filter_params(request.GET)
        stem = Path(resource.source_name or "donnees").stem or "donnees"
        if fmt == "parquet" and not params and not sort:
            return FileResponse(open(parquet, "rb"), as_attachment=True, filename=f"{stem}.parquet", content_type="application/vnd.apache.parquet")
        if fmt == "xlsx":
            total = query.read_page(parquet, filters_params=params, page=1, page_size=1, total_cache=selectors.total_cache)["total"]
            if total > XLSX_MAX_ROWS:
                raise TabularError(
                    f"Le format XLSX est limité à {XLSX_MAX_ROWS + 1:,} lignes (ici {total:,}) : téléchargez en CSV ou Parquet.".replace(",", "\u202f"),
                    code="xlsx_rows",
                )
        names, batches = query.iter_batches(parquet, filters_params=params, sort=sort)
    except TabularError as exc:
        _raise(exc)
    if fmt == "csv":
        response = StreamingHttpResponse(_csv_stream(names, batches), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = StreamingHttpResponse(_json_stream(batches), content_type="application/json")
    elif fmt == "parquet":
        response = _temp_file_response(_write_parquet(batches), "application/vnd.apache.parquet")
    else:
        response = _temp_file_response(_write_xlsx(names, batches), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{stem}.{fmt}"'
    return response


def _csv_stream(names, batches):
    import pyarrow.csv as pacsv

    first = True
    for batch in batches:
        buffer = io.BytesIO()
        pacsv.write_csv(batch, buffer, write_options=pacsv.WriteOptions(include_header=first))
        first = False
        yield buffer.getvalue()
    if first:  # no row: still send the header
        yield (",".join(json.dumps(n, ensure_ascii=False) for n in names) + "\n").encode()


def _json_stream(batches):
    yield b"["
    first = True
    for batch in batches:
        for row in batch.to_pylist():
            yield (b"" if first else b",") + json.dumps({k: jsonable(v) for k, v in row.items()}, ensure_ascii=False).encode()
            first = False
    yield b"]"


def _write_parquet(batches) -> Path:
    import pyarrow.parquet as pq

    handle = tempfile.NamedTemporaryFile(suffix=".parquet", delete=False)
    handle.close()
    writer = None
    for batch in batches:
        if writer is None:
            writer = pq.ParquetWriter(handle.name, batch.schema, compression="zstd")
        writer.write_batch(batch)
    if writer is not None:
        writer.close()
    return Path(handle.name)


def _write_xlsx(names, batches) -> Path:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("données")
    sheet.append(names)
    for batch in batches:
        for row in batch.to_pylist():
            sheet.append([_xlsx_value(v) for v in row.values()])
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)
    handle.close()
    workbook.save(handle.name)
    return Path(handle.name)


def _xlsx_value(value):
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if getattr(value, "tzinfo", None) is not None:
        return value.replace(tzinfo=None)
    return value


def _temp_file_response(path: Path, content_type: str):
    def stream():
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(256 * 1024):
                    yield chunk
        finally:
            path.unlink(missing_ok=True)

    return StreamingHttpResponse(stream(), content_type=content_type)
