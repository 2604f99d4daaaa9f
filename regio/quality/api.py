"""/api/1/schemas, /api/1/resources/{key}/validation, /api/1/links."""

from __future__ import annotations

from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from ninja import Router, Schema
from ninja.errors import HttpError

from regio.accounts.auth import session_or_token
from regio.core.pagination import paginate

from . import selectors, services
from .models import CheckedLink, TableSchema
from .permissions import can_manage_schemas
from .scoring import DatasetMeta, ResourceMeta, quality_score

router = Router(tags=["Qualité et schémas"])


def serialize_schema(schema: TableSchema) -> dict:
    return {
        "slug": schema.slug,
        "name": schema.name,
        "title": schema.title,
        "version": schema.version,
        "source_url": schema.source_url,
        "fields": schema.field_names,
    }


def serialize_report(report) -> dict:
    return {
        "id": report.pk,
        "resource_key": report.resource_key,
        "schema": serialize_schema(report.schema),
        "valid": report.valid,
        "error_count": report.error_count,
        "row_count": report.row_count,
        "truncated": report.truncated,
        "errors": report.errors,
        "created_at": report.created_at.isoformat(),
    }


@router.get("/schemas", summary="Schémas de données enregistrés")
def list_schemas(request, page: int = 1, page_size: int = settings.API_PAGE_SIZE):
    return paginate(request, TableSchema.objects.order_by("title", "version"), page, page_size, serialize_schema)


class SchemaIn(Schema):
    url: str


class ResourceMetaIn(Schema):
    url: str = ""
    format: str = ""
    available: bool | None = None
    tabular: bool = False
    schema_declared: bool = False
    schema_valid: bool | None = None


class DatasetMetaIn(Schema):
    title: str = ""
    description: str = ""
    license: str = ""
    frequency: str = ""
    last_update: datetime | None = None
    resources: list[ResourceMetaIn] = []
    temporal_start: date | None = None
    temporal_end: date | None = None
    spatial: str | None = None


@router.post("/quality/score", summary="Score de qualité (0–100) d'un jeu de données décrit par ses métadonnées")
def score(request, body: DatasetMetaIn):
    """Chaque critère est expliqué, avec la correction à apporter."""
    data = body.dict()
    data["resources"] = [ResourceMeta(**r) for r in data["resources"]]
    return quality_score(DatasetMeta(**data)).as_json()


@router.post("/schemas", auth=session_or_token, summary="Enregistrer un schéma par son URL (équipe de la région)")
def register_schema(request, body: SchemaIn):
    if not can_manage_schemas(request.user):
        raise PermissionDenied("Seule l'équipe données de la région peut enregistrer des schémas.")
    try:
        schema = services.register_schema_from_url(body.url)
    except services.SchemaError as exc:
        raise HttpError(400, str(exc))
    return serialize_schema(schema)


@router.get("/resources/{key}/validation", summary="Dernier rapport de validation d'une ressource")
def resource_validation(request, key: str):
    report = selectors.latest_report(key)
    if report is None:
        raise HttpError(404, "Aucun rapport de validation pour cette ressource : aucun schéma n'a été déclaré ou la validation n'a pas encore eu lieu.")
    return serialize_report(report)


@router.get("/links", summary="Disponibilité d'un lien et son historique")
def link_history(request, url: str):
    link = CheckedLink.objects.filter(url=url).first()
    if link is None:
        raise HttpError(404, "Ce lien n'est pas suivi.")
    return {
        "url": link.url,
        "available": link.available,
        "last_status": link.last_status,
        "last_error": link.last_error,
        "last_checked_at": link.last_checked_at.isoformat() if link.last_checked_at else None,
        "history": [
            {"checked_at": c.checked_at.isoformat(), "ok": c.ok, "status_code": c.status_code, "error": c.error, "duration_ms": c.duration_ms}
            for c in link.checks.all()[:100]
        ],
    }
