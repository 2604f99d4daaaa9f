"""Catalogue hook: every new catalogue resource whose schema is SCDL budget or subventions is
imported in the background (harvested or published: the région's view consolidates the territory)."""

from __future__ import annotations

import logging

from django.db import transaction

from .services import CONSOLIDATED_SLUG, scdl_kind_of_schema

log = logging.getLogger(__name__)


def on_resource_saved(sender, instance, created, **kwargs) -> None:
    if not created or kwargs.get("raw") or scdl_kind_of_schema(instance.schema) is None:
        return
    if instance.dataset.slug == CONSOLIDATED_SLUG:
        return

    def enqueue():
        from .tasks import import_catalog_resource_task

        try:
            import_catalog_resource_task.enqueue(instance.pk)
        except Exception:
            log.exception("import de la ressource %s non planifié", instance.pk)

    transaction.on_commit(enqueue)


def on_datasets_bulk_saved(sender, dataset_ids, **kwargs) -> None:
    """Datasets written in bulk (harvesting) send no post_save: their SCDL resources never imported
    yet are queued like new ones."""
    if not dataset_ids:
        return
    ids = list(dataset_ids)

    def enqueue():
        from regio.catalog.models import Resource

        from .models import ImportBatch
        from .tasks import import_catalog_resource_task

        resources = Resource.objects.filter(dataset_id__in=ids).exclude(schema="").exclude(dataset__slug=CONSOLIDATED_SLUG)
        for resource in resources.only("pk", "schema"):
            if scdl_kind_of_schema(resource.schema) is None:
                continue
            if ImportBatch.objects.filter(source_key=f"catalog.resource:{resource.pk}").exists():
                continue
            try:
                import_catalog_resource_task.enqueue(resource.pk)
            except Exception:
                log.exception("import de la ressource %s non planifié", resource.pk)

    transaction.on_commit(enqueue)
