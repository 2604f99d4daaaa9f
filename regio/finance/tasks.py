"""Background jobs of the finance app (run by ``regio worker``)."""

from django_tasks import task

from . import services


@task()
def publish_consolidated_task() -> int | None:
    dataset = services.publish_consolidated()
    return dataset.pk if dataset else None


@task()
def import_catalog_resource_task(resource_id: int) -> int | None:
    from regio.catalog.models import Resource

    resource = Resource.objects.filter(pk=resource_id).select_related("dataset__publisher").first()
    if resource is None:
        return None
    batch = services.import_catalog_resource(resource)
    return batch.pk if batch else None
