from django.apps import AppConfig


class HarvestConfig(AppConfig):
    name = "regio.harvest"
    label = "harvest"
    verbose_name = "Moissonnage des portails locaux"

    def ready(self):
        from regio.core.registry import platform

        from . import demo
        from .backends import register_backends

        register_backends()
        platform.add_nav("Moissonnage", "harvest:list", order=25)
        platform.add_demo("moissonnage", demo.load_demo, order=35)
