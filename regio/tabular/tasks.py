from datetime import timedelta

from django.utils import timezone
from django_tasks import task

RESCHEDULE_EVERY = timedelta(hours=1)


@task()
def convert_resource_task(resource_id: int) -> str:
    from .models import TabularResource
    from .services import convert_resource

    resource = TabularResource.objects.filter(pk=resource_id).first()
    if resource is None:
        return "absent"
    return convert_resource(resource).status


@task()
def check_remote_sources_task(reschedule: bool = True) -> int:
    """Periodic: queue a change check for every remote file that is due, then enqueue itself again an hour later."""
    from .services import enqueue_due_remote_checks

    count = enqueue_due_remote_checks()
    if reschedule:
        check_remote_sources_task.using(run_after=timezone.now() + RESCHEDULE_EVERY).enqueue(True)
    return count


@task()
def check_remote_source_task(resource_id: int) -> str:
    """Check one remote file for a new version; convert (then validate and score) it if it changed."""
    from .models import TabularResource
    from .services import check_remote_source

    resource = TabularResource.objects.filter(pk=resource_id).first()
    if resource is None:
        return "absent"
    check = check_remote_source(resource)
    return check.outcome if check else "local"


@task()
def submit_catalog_datasets_task(dataset_ids: list[int]) -> int:
    """Datasets written in bulk (a harvested page): submit their tabular resources."""
    from .catalog_link import submit_datasets

    return submit_datasets(dataset_ids)
