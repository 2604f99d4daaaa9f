"""Parquet snapshot of the subsidy lines, read by DuckDB for the explorer's aggregates.

The database stays the source of truth. The snapshot is one Parquet file per import batch
(``batch-<id>-<rows>-<stamp>.parquet`` in ``FINANCE_SNAPSHOT_DIR``, default
``VAR_DIR/finance/subventions``), sorted by year (row-group statistics skip the other years):

* an import writes its file from the very rows it inserts (same DuckDB table), to a staging name,
  renamed into place when the transaction commits (``os.replace``: atomic, readers never see a
  half-written file);
* a reader lists the batches that hold subsidies (one small query) and uses the files whose name
  matches them; a missing file (import rolled forward without the commit hook, corrected
  quarantine rows adding lines, deleted lines) is rebuilt from the database, a file of a batch
  that no longer exists is ignored and removed.

One file per batch rather than one consolidated file: a small import never rewrites millions of
lines, and a batch's file never changes once written (a change gives a new name)."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

log = logging.getLogger(__name__)

COLUMNS = [
    ("organisation_id", pa.int64()), ("grantor_siret", pa.string()), ("grantor_name", pa.string()),
    ("beneficiary_siret", pa.string()), ("beneficiary_name", pa.string()), ("beneficiary_name_search", pa.string()),
    ("object", pa.string()), ("nature", pa.string()), ("amount_cents", pa.int64()), ("year", pa.int32()),
    ("theme", pa.string()), ("beneficiary_commune_id", pa.string()), ("beneficiary_epci_id", pa.string()),
    ("beneficiary_departement_id", pa.string()), ("is_demo", pa.bool_()),
]
SCHEMA = pa.schema(COLUMNS)
NAMES = [name for name, _ in COLUMNS]


def folder() -> Path:
    path = Path(getattr(settings, "FINANCE_SNAPSHOT_DIR", Path(settings.VAR_DIR) / "finance" / "subventions"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_name(batch_id: int, rows: int, created_at) -> str:
    return f"batch-{batch_id}-{rows}-{int(created_at.timestamp() * 1_000_000)}.parquet"


def staging_path() -> Path:
    return folder() / f".staging-{uuid.uuid4().hex}.parquet"


def install(staging: Path, batch_id: int, rows: int, created_at) -> None:
    """Move a staging file into place (after commit)."""
    try:
        os.replace(staging, folder() / file_name(batch_id, rows, created_at))
    except OSError:
        log.exception("instantané Parquet du lot %s non installé", batch_id)
        return
    from . import aggregate

    aggregate.refresh()  # the explorer's first request after the import need not write it


def copy_sql(select_sql: str, target: Path) -> str:
    """DuckDB ``COPY`` of ``select_sql`` (giving :data:`NAMES`) to ``target``, sorted by year."""
    return (f"COPY (SELECT {', '.join(NAMES)} FROM ({select_sql}) ORDER BY year) TO '{target}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")


def rebuild(batch_id: int, rows: int, created_at) -> Path:
    """Write one batch's file from the database."""
    from .models import Subsidy

    staging = staging_path()
    writer = pq.ParquetWriter(staging, SCHEMA, compression="zstd")
    try:
        qs = Subsidy.objects.filter(batch_id=batch_id).order_by("year", "id").values_list(*NAMES)
        chunk: list[tuple] = []
        for row in qs.iterator(chunk_size=20000):
            chunk.append(row)
            if len(chunk) >= 100_000:
                writer.write_table(pa.Table.from_pylist([dict(zip(NAMES, r, strict=True)) for r in chunk], schema=SCHEMA))
                chunk = []
        writer.write_table(pa.Table.from_pylist([dict(zip(NAMES, r, strict=True)) for r in chunk], schema=SCHEMA))
    finally:
        writer.close()
    target = folder() / file_name(batch_id, rows, created_at)
    os.replace(staging, target)
    return target


def current_files() -> list[Path]:
    """The snapshot files of every batch holding subsidies, rebuilding those missing."""
    from .models import ImportBatch

    base = folder()
    wanted = {
        file_name(pk, rows, created): (pk, rows, created)
        for pk, rows, created in ImportBatch.objects.filter(kind=ImportBatch.Kind.SUBSIDIES, rows_imported__gt=0)
        .order_by("pk").values_list("pk", "rows_imported", "created_at")
    }
    present = {p.name for p in base.glob("batch-*.parquet")}
    files = []
    for name, (pk, rows, created) in wanted.items():
        files.append(base / name if name in present else rebuild(pk, rows, created))
    for name in present - set(wanted):
        (base / name).unlink(missing_ok=True)
    for stale in base.glob(".staging-*.parquet"):  # left by imports rolled back
        try:
            if stale.stat().st_mtime < time.time() - 3600:
                stale.unlink(missing_ok=True)
        except OSError:
            pass
    return files


def forget_batch(batch_id: int) -> None:
    """Drop a batch's file (its lines changed outside an import): the next read rebuilds it."""
    for path in folder().glob(f"batch-{batch_id}-*.parquet"):
        path.unlink(missing_ok=True)
