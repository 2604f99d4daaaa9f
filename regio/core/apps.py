from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "regio.core"
    label = "core"
    verbose_name = "Socle"
