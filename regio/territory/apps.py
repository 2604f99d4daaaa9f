from django.apps import AppConfig


class TerritoryConfig(AppConfig):
    name = "regio.territory"
    label = "territory"
    verbose_name = "Territoire"

    def ready(self):
        from regio.core.registry import platform

        platform.add_nav("Territoire", "territory:index", order=10)
