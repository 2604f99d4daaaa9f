from datetime import timedelta

from django.utils import timezone
from django_tasks import task

RESCHEDULE_EVERY = timedelta(hours=1)
RECOMPUTE_EVERY = timedelta(days=1)


@task()
def check_links_task(reschedule: bool = True) -> int:
    """Periodic: check the links that are due, then enqueue itself again an hour later."""
    from .services import check_due_links

    count = check_due_links()
    if reschedule:
        check_links_task.using(run_after=timezone.now() + RESCHEDULE_EVERY).enqueue(True)
    return count


@task()
def recompute_scores_task(reschedule: bool = True) -> dict:
    """Daily: recompute every dataset's quality score (the update-frequency criterion depends on the
    date), store those that changed, then enqueue itself again a day later."""
    from .catalog_link import recompute_scores

    counts = recompute_scores()
    if reschedule:
        recompute_scores_task.using(run_after=timezone.now() + RECOMPUTE_EVERY).enqueue(True)
    return counts


@task()
def validate_resource_task(resource_key: str, path: str, schema_id: int) -> int:
    from .models import TableSchema
    from .services import validate_resource

    return validate_resource(resource_key, path, TableSchema.objects.get(pk=schema_id)).pk


@task()
def validate_catalog_resource_task(resource_id: int) -> str:
    """Validate one catalogue resource against its declared schema, then rescore its dataset."""
    from regio.catalog.models import Resource

    from .catalog_link import refresh_dataset_quality, validate_catalog_resource

    resource = Resource.objects.select_related("dataset").filter(pk=resource_id).first()
    if resource is None:
        return "absent"
    report = validate_catalog_resource(resource)
    refresh_dataset_quality(resource.dataset)
    return "valide" if report and report.valid else "invalide" if report else "non validé"


@task()
def refresh_datasets_quality_task(dataset_ids: list[int]) -> int:
    """Rescore datasets written in bulk (a harvested page)."""
    from regio.catalog.models import Dataset

    from .catalog_link import refresh_dataset_quality

    count = 0
    for dataset in Dataset.objects.filter(pk__in=dataset_ids):
        refresh_dataset_quality(dataset)
        count += 1
    return count
