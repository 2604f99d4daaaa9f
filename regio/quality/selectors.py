from __future__ import annotations

from .models import CheckedLink, TableSchema, ValidationReport


def latest_report(resource_key: str) -> ValidationReport | None:
    return ValidationReport.objects.filter(resource_key=resource_key).select_related("schema").order_by("-created_at", "-pk").first()


def schema_suggestions(resource) -> list[dict]:
    """Closest registered schemas for a tabular resource, from its column names (an object with ``columns``)."""
    from .services import match_schemas

    header = [c["name"] for c in (getattr(resource, "columns", None) or [])]
    return match_schemas(header) if header else []


def link_status(url: str) -> CheckedLink | None:
    return CheckedLink.objects.filter(url=url).first()


def schemas():
    return TableSchema.objects.all()
