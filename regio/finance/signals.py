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
