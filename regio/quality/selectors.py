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


def dataset_scores(datasets) -> dict[int, int]:
    """Quality score (0–100) of each catalogue dataset, by id: the stored score, computed and stored
    at once for a dataset not scored yet (e.g. read before its first rescoring ran)."""
    from .catalog_link import refresh_dataset_quality
    from .models import DatasetQuality

    datasets = list(datasets)
    scores = dict(DatasetQuality.objects.filter(dataset_id__in=[d.pk for d in datasets]).values_list("dataset_id", "score"))
    for dataset in datasets:
        if dataset.pk not in scores:
            scores[dataset.pk] = refresh_dataset_quality(dataset).score
    return scores
