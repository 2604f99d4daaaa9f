from django.apps import AppConfig


class ParticipationConfig(AppConfig):
    name = "regio.participation"
    label = "participation"
    verbose_name = "Débats publics"

    def ready(self):
        from regio.core.registry import platform

        from . import personal_data
        from .backends import register_backends
        from .demo import load_demo
        from .figures import territory_figures

        register_backends()
        platform.add_nav("Débats publics", "participation:list", 40)
        platform.add_demo("débats publics", load_demo, 60)
        platform.add_personal_data("participation", personal_data.export, personal_data.erase)
        platform.add_territory_figures(territory_figures)
