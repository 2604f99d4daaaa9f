from django.apps import AppConfig


class TabularConfig(AppConfig):
    name = "regio.tabular"
    label = "tabular"
    verbose_name = "Données tabulaires"

    def ready(self):
        from regio.core.registry import platform

        platform.add_nav("Tableaux de données", "tabular:index", order=40)
        platform.add_demo("tableaux SCDL", _demo, order=60)

        from . import catalog_link

        catalog_link.connect()


def _demo(out):
    from .demo import load_demo

    load_demo(out)
