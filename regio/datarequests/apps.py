from django.apps import AppConfig


class DatarequestsConfig(AppConfig):
    name = "regio.datarequests"
    label = "datarequests"
    verbose_name = "Demandes de données et obligations d'ouverture"

    def ready(self):
        from regio.core.registry import platform

        from . import demo, selectors, services

        platform.add_nav("Demandes de données", "datarequests:list", order=25)
        platform.add_nav("Obligations d'ouverture", "datarequests:obligations", order=26)
        platform.add_demo("demandes de données et obligations", demo.load_demo, order=70)
        platform.add_territory_figures(selectors.territory_figures)
        platform.add_personal_data("demandes de données", services.export_user, services.erase_user)
