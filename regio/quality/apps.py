from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "regio.quality"
    label = "quality"
    verbose_name = "Qualité des données"

    def ready(self):
        from regio.core.registry import platform

        platform.add_nav("Schémas de données", "quality:schemas", order=45)
        platform.add_demo("schémas SCDL", _demo, order=55)


def _demo(out):
    from .demo import load_demo

    load_demo(out)
