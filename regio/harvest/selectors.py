"""Reads of the harvester: sources with their last run, runs, errors, origins of a dataset."""

from __future__ import annotations

from regio.core.ingest.models import ItemError, Run

from .models import DatasetOrigin, HarvestSource


def sources():
    return HarvestSource.objects.select_related("owner").order_by("name")


def runs_of(source):
    return Run.objects.filter(source=source).order_by("-id")


def errors_of(run):
    return ItemError.objects.filter(run=run).select_related("run__source").order_by("id")


def origins_of(dataset):
    return DatasetOrigin.objects.filter(dataset=dataset).select_related("source", "source__owner").order_by("-primary", "id")


def source_row(source) -> dict:
    last = source.last_real_run()
    return {
        "id": source.pk,
        "name": source.name,
        "kind": source.kind,
        "kind_label": source.kind_label,
        "url": source.url,
        "owner": {"slug": source.owner.slug, "name": source.owner.name} if source.owner else None,
        "schedule": (f"toutes les {source.schedule_minutes} minutes" if source.schedule_minutes else source.schedule_cron or ""),
        "schedule_minutes": source.schedule_minutes,
        "schedule_cron": source.schedule_cron,
        "enabled": source.enabled,
        "stale": source.is_stale,
        "datasets": DatasetOrigin.objects.filter(source=source, archived_at__isnull=True).count(),
        "last_run": run_row(last) if last else None,
    }


def run_row(run) -> dict:
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": run.get_status_display(),
        "dry_run": run.dry_run,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "complete": run.complete,
        "pages": run.pages_done,
        "counts": run.counts,
        "message": run.message,
    }
