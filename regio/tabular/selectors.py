"""Reads: find a tabular resource by its key; pages and SQL on its Parquet file."""

from __future__ import annotations

import logging
from pathlib import Path

from django.core.cache import caches
from django.http import Http404

from . import conf
from .engine import query
from .engine.errors import TabularError
from .models import Status, TabularResource

log = logging.getLogger(__name__)


def get_resource(key: str) -> TabularResource:
    """By full key; a bare number is read as a catalogue resource id (``catalog.resource:<n>``)."""
    candidates = [key]
    if key.isdigit():
        candidates.append(f"catalog.resource:{key}")
    resource = TabularResource.objects.filter(resource_key__in=candidates).first()
    if resource is None:
        raise Http404("Aucune donnée tabulaire n'est associée à cette ressource.")
    return resource


def ready_parquet(resource: TabularResource) -> Path:
    """The Parquet file to read, or a French explanation of why there is none yet."""
    if resource.parquet_path and Path(resource.parquet_path).is_file():
        return Path(resource.parquet_path)
    if resource.status == Status.FAILED:
        raise TabularError(f"Aperçu indisponible : la conversion a échoué. {resource.error}", code="failed")
    if resource.status in (Status.QUEUED, Status.PROCESSING):
        raise TabularError("Aperçu pas encore disponible : la conversion du fichier est en cours, réessayez dans un instant.", code="pending")
    raise TabularError("Aperçu indisponible : le fichier converti est introuvable.", code="missing")


class TotalCache:
    """The Django cache seen by :func:`query.read_page`: totals per (Parquet file version, filters).

    The key includes the file's path, modification time and size (``query.file_version``): a
    re-conversion (new file) never reads an old total. A cache failure only means counting again."""

    def get(self, key):
        try:
            return caches[conf.total_cache_alias()].get(key)
        except Exception:  # noqa: BLE001 - an unavailable cache must not break the preview
            log.warning("cache des totaux indisponible", exc_info=True)
            return None

    def set(self, key, value) -> None:
        try:
            caches[conf.total_cache_alias()].set(key, value, conf.total_cache_seconds())
        except Exception:  # noqa: BLE001
            log.warning("cache des totaux indisponible", exc_info=True)


total_cache = TotalCache()


def page(resource: TabularResource, params, *, sort=None, page=1, page_size=20) -> dict:
    return query.read_page(
        ready_parquet(resource), filters_params=params, sort=sort, page=page, page_size=page_size, total_cache=total_cache,
        index_min_rows=conf.sort_index_min_rows(),
    )


def sql(resource: TabularResource, q: str, *, page=1, page_size=None) -> dict:
    return query.run_sql(ready_parquet(resource), q, conf.sandbox_limits(), page=page, page_size=page_size)


def filter_params(querydict) -> list[tuple[str, str]]:
    """Column filters from a request's query string (everything but paging, sort and format)."""
    return [(k, v) for k in querydict for v in querydict.getlist(k) if k not in ("page", "page_size", "sort", "format", "q") and v != ""]
