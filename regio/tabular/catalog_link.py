"""Plugging the tabular service into the catalogue: every tabular resource of a dataset is
submitted for conversion (key ``catalog.resource:<id>``) when it is added or changed, and its
converted data is dropped when it is deleted. Connected in ``TabularConfig.ready``."""

from __future__ import annotations

from django.db import transaction

TABULAR_FORMATS = {"csv", "tsv", "txt", "xlsx", "xls", "ods", "json", "geojson", "ndjson", "jsonl"}
KEY_PREFIX = "catalog.resource:"


def resource_key(resource) -> str:
    return f"{KEY_PREFIX}{resource.pk}"


def resource_id(key: str) -> int | None:
    if key.startswith(KEY_PREFIX) and key[len(KEY_PREFIX):].isdigit():
        return int(key[len(KEY_PREFIX):])
    return None


def is_tabular(resource) -> bool:
    fmt = (resource.format or "").lower().lstrip(".")
    if fmt in TABULAR_FORMATS:
        return fmt != "txt" or bool(resource.file)
    return False


def source_of(resource) -> str:
    """Local path of an uploaded file, else the resource URL."""
    if resource.file:
        return resource.file.path
    return resource.url


def catalog_downloads() -> bool:
    """Whether resources given by URL are downloaded for conversion (setting TABULAR_CATALOG_DOWNLOADS)."""
    from django.conf import settings

    return bool(getattr(settings, "TABULAR_CATALOG_DOWNLOADS", True))


def submit(resource):
    """Queue the conversion of one catalogue resource now (not waiting for the transaction)."""
    from .services import delete_resource, submit_file, submit_url

    key = resource_key(resource)
    if not is_tabular(resource):
        delete_resource(key)
        return None
    if resource.file:
        return submit_file(key, resource.file.path, name=resource.file.name.rsplit("/", 1)[-1], title=resource.title)
    if resource.url and catalog_downloads():
        return submit_url(key, resource.url, title=resource.title)
    return None


def _needs_submit(resource) -> bool:
    from .models import Status, TabularResource

    tab = TabularResource.objects.filter(resource_key=resource_key(resource)).first()
    if tab is None:
        return True
    if tab.source != source_of(resource):
        return True
    if tab.status in (Status.QUEUED, Status.PROCESSING):
        return False
    # Same source: converted again when the resource changed after the last conversion.
    return tab.updated_at < resource.updated_at


def on_resource_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    if not is_tabular(instance):
        from .services import delete_resource

        delete_resource(resource_key(instance))
        return
    pk = instance.pk

    def later():
        from regio.catalog.models import Resource

        resource = Resource.objects.filter(pk=pk).first()
        if resource is not None and _needs_submit(resource):
            submit(resource)

    # After the commit: the background worker must see the row (and the uploaded file).
    transaction.on_commit(later)


def on_datasets_bulk_saved(sender, dataset_ids, **kwargs):
    """Datasets written in bulk (harvesting) send no post_save: their tabular resources are
    submitted by one background task after the commit."""
    if not dataset_ids:
        return
    ids = list(dataset_ids)

    def enqueue():
        from .tasks import submit_catalog_datasets_task

        submit_catalog_datasets_task.enqueue(ids)

    transaction.on_commit(enqueue)


def submit_datasets(dataset_ids: list[int]) -> int:
    """Submit the tabular resources of these datasets that were never converted or changed since."""
    from regio.catalog.models import Resource

    count = 0
    for resource in Resource.objects.filter(dataset_id__in=dataset_ids):
        if is_tabular(resource) and _needs_submit(resource):
            submit(resource)
            count += 1
    return count


def on_resource_deleted(sender, instance, **kwargs):
    from .services import delete_resource

    delete_resource(resource_key(instance))


def on_converted(sender, resource, **kwargs):
    """A catalogue resource given by URL was downloaded and converted: its own size and SHA-256 now
    describe the version served, and its modification date moves when the remote file changed.

    A queryset update: no ``post_save``, so no new submission, and the resource's ``updated_at`` (what
    a metadata edit changes) is left alone; only a resource still pointing at that URL is touched."""
    from regio.catalog.models import Resource

    from .services import is_remote

    pk = resource_id(resource.resource_key)
    if pk is None or resource.status != "ready" or not resource.source_sha256 or not is_remote(resource):
        return
    changes = {"size": resource.size_bytes, "checksum_sha256": resource.source_sha256}
    if resource.source_changed_at:
        changes["last_modified"] = resource.source_changed_at
    Resource.objects.filter(pk=pk, url=resource.source, file="").exclude(checksum_sha256=resource.source_sha256).update(**changes)


def connect():
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    Resource = apps.get_model("catalog", "Resource")
    post_save.connect(on_resource_saved, sender=Resource, dispatch_uid="tabular.catalog_resource_saved")
    post_delete.connect(on_resource_deleted, sender=Resource, dispatch_uid="tabular.catalog_resource_deleted")
    from regio.catalog.signals import datasets_bulk_saved

    datasets_bulk_saved.connect(on_datasets_bulk_saved, dispatch_uid="tabular.catalog_datasets_bulk_saved")
    from .signals import resource_converted

    resource_converted.connect(on_converted, dispatch_uid="tabular.catalog_resource_converted")
