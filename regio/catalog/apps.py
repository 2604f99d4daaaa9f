from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "regio.catalog"
    label = "catalog"
    verbose_name = "Catalogue de données"

    def ready(self):
        from regio.core.registry import platform

        from . import demo, selectors, services

        platform.add_nav("Données", "catalog:search", order=20)
        platform.add_demo("catalogue", demo.load_demo, order=30)
        platform.add_territory_figures(selectors.territory_figures)
        platform.add_personal_data("catalogue", services.export_user, services.erase_user)
