from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "regio.quality"
    label = "quality"
    verbose_name = "Qualité des données"

    def ready(self):
        from regio.core.registry import platform

        platform.add_nav("Schémas de données", "quality:schemas", order=45)
        platform.add_demo("schémas SCDL", _demo, order=55)
        platform.add_demo("catalogue : fichiers SCDL convertis, validés et notés", _demo_catalog, order=70)

        from . import catalog_link

        catalog_link.connect()


def _demo(out):
    from .demo import load_demo

    load_demo(out)


def _demo_catalog(out):
    from .demo import load_catalog_demo

    load_catalog_demo(out)
