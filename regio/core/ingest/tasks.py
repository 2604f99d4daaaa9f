"""Background runs (``regio worker``): run one source, or every source that is due."""

from django_tasks import task

from regio.core.ingest.engine import RunInProgress, SourceDeleted, detect_dead_runs, run_source
from regio.core.ingest.models import Run, Source


@task()
def run_source_task(source_id: int, dry_run: bool = False, run_id: int | None = None) -> dict:
    source = Source.objects.get(pk=source_id)
    run = Run.objects.filter(pk=run_id).first() if run_id else None
    try:
        run = run_source(source, dry_run=dry_run, run=run)
    except (RunInProgress, SourceDeleted) as exc:
        return {"source": source_id, "status": "skipped", "message": str(exc)}
    return {"source": source_id, "run": run.pk, "status": run.status, **run.counts}


@task()
def run_due_sources() -> list[int]:
    """Mark dead runs, then enqueue every enabled source whose schedule is due."""
    detect_dead_runs()
    queued = []
    for source in Source.objects.filter(enabled=True, deleted_at__isnull=True):
        if source.is_due() and not source.runs.filter(status__in=[Run.Status.RUNNING, Run.Status.QUEUED]).exists():
            run_source_task.enqueue(source.pk)
            queued.append(source.pk)
    return queued
