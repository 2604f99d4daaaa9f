"""Tabular settings: Django settings ``TABULAR_*`` override the ``REGIO_TABULAR_*`` environment defaults."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings

from .engine.convert import Limits
from .engine.query import SandboxLimits


def _get(name: str, default: str) -> str:
    if hasattr(settings, name):
        return str(getattr(settings, name))
    return os.environ.get(f"REGIO_{name}", default)


def tabular_root() -> Path:
    return Path(settings.TABULAR_ROOT)


def conversion_limits() -> Limits:
    return Limits(
        max_bytes=int(_get("TABULAR_MAX_BYTES", str(20 * 1024**3))),
        zip_max_uncompressed=int(_get("TABULAR_ZIP_MAX_UNCOMPRESSED", str(4 * 1024**3))),
        zip_max_ratio=float(_get("TABULAR_ZIP_MAX_RATIO", "200")),
        json_max_object_bytes=int(_get("TABULAR_GEOJSON_MAX_BYTES", str(256 * 1024**2))),
        memory_limit=_get("TABULAR_MEMORY_LIMIT", "1GB"),
        threads=int(_get("TABULAR_THREADS", "2")),
    )


def sandbox_limits() -> SandboxLimits:
    return SandboxLimits(
        memory_limit=_get("TABULAR_SQL_MEMORY_LIMIT", "256MB"),
        threads=int(_get("TABULAR_SQL_THREADS", "1")),
        timeout_s=float(_get("TABULAR_SQL_TIMEOUT_S", "5")),
        max_rows=int(_get("TABULAR_SQL_MAX_ROWS", "1000")),
    )


def download_max_bytes() -> int:
    """Largest file fetched when a resource is given by URL (the disk quota)."""
    return conversion_limits().max_bytes


def remote_check_interval() -> timedelta:
    """How often a file given by URL is checked for a new version (default: daily)."""
    return timedelta(hours=float(_get("TABULAR_REMOTE_CHECK_HOURS", "24")))


def total_cache_alias() -> str:
    """The Django cache (alias in ``CACHES``) keeping the row counts of filtered pages."""
    return _get("TABULAR_TOTAL_CACHE", "default")


def total_cache_seconds() -> int:
    """How long a row count is kept (the key changes anyway when the file is converted again)."""
    return int(_get("TABULAR_TOTAL_CACHE_SECONDS", str(24 * 3600)))


def sort_index_min_rows() -> int:
    """Sorted pages of files of at least this many rows read the sort index (below, DuckDB's top-N is quick)."""
    return int(_get("TABULAR_SORT_INDEX_MIN_ROWS", "100000"))
