from django_tasks import task


@task()
def convert_resource_task(resource_id: int) -> str:
    from .models import TabularResource
    from .services import convert_resource

    resource = TabularResource.objects.filter(pk=resource_id).first()
    if resource is None:
        return "absent"
    return convert_resource(resource).status
