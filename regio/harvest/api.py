"""JSON API of the harvester: /api/1/harvest/sources and their runs (with per-item errors)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from regio.core.pagination import paginate

from . import selectors
from .models import HarvestSource

router = Router(tags=["Moissonnage"])


class ListParams(Schema):
    page: int = 1
    page_size: int = 20


@router.get("/harvest/sources", summary="Sources moissonnées (type, propriétaire, planification, dernier passage)")
def list_sources(request, params: Query[ListParams]):
    return paginate(request, selectors.sources(), params.page, params.page_size, selectors.source_row)


@router.get("/harvest/sources/{source_id}", summary="Une source moissonnée")
def get_source(request, source_id: int):
    return selectors.source_row(get_object_or_404(HarvestSource, pk=source_id))


@router.get("/harvest/sources/{source_id}/runs", summary="Historique des passages d'une source, avec les erreurs par élément")
def list_runs(request, source_id: int, params: Query[ListParams]):
    source = HarvestSource.objects.filter(pk=source_id).first()
    if source is None:
        raise HttpError(404, f"Source moissonnée {source_id} introuvable.")

    def serialize(run):
        row = selectors.run_row(run)
        row["errors"] = [
            {"page": e.page, "remote_id": e.remote_id, "field": e.field, "message": e.message, "description": e.describe()}
            for e in selectors.errors_of(run)[:200]
        ]
        return row

    return paginate(request, selectors.runs_of(source), params.page, params.page_size, serialize)
