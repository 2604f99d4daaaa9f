from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "regio.accounts"
    label = "accounts"
    verbose_name = "Comptes et organisations"

    def ready(self):
        from regio.core.registry import platform
        from regio.territory.signals import territory_loaded

        from . import services

        platform.add_nav("Organisations", "accounts:organisations", order=90)
        platform.add_personal_data("compte", services.export_user, services.erase_user)
        platform.add_demo("organisations", _demo_organisations, order=10)
        territory_loaded.connect(_on_territory_loaded, dispatch_uid="accounts.sync_collectivites")


def _on_territory_loaded(sender, region_code, **kwargs):
    from . import services

    services.sync_collectivites(region_code)


def _demo_organisations(out):
    from .demo import load_demo

    load_demo(out)
