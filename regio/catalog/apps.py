from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "regio.catalog"
    label = "catalog"
    verbose_name = "Catalogue de données"

    def ready(self):
        from django.db.models.signals import post_migrate

        from regio.core.registry import platform

        from . import demo, selectors, services

        platform.add_nav("Données", "catalog:search", order=20)
        platform.add_demo("catalogue", demo.load_demo, order=30)
        platform.add_territory_figures(selectors.territory_figures)
        platform.add_personal_data("catalogue", services.export_user, services.erase_user)
        # A migration that remakes catalog_dataset on SQLite drops its triggers: put them back.
        post_migrate.connect(_reinstall_sort_log, sender=self)


def _reinstall_sort_log(using="default", **kwargs):
    from django.db import connections

    from . import sort_keys

    if "catalog_sortchange" in connections[using].introspection.table_names():
        sort_keys.install(connections[using])
