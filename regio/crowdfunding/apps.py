from django.apps import AppConfig


class CrowdfundingConfig(AppConfig):
    name = "regio.crowdfunding"
    label = "crowdfunding"
    verbose_name = "Financement participatif"

    def ready(self):
        from regio.core.registry import platform

        from . import demo, personal_data, selectors

        platform.add_nav("Financement participatif", "crowdfunding:projects", order=50)
        platform.add_demo("financement participatif", demo.load_demo, order=50)
        platform.add_personal_data("financement_participatif", personal_data.export_user, personal_data.erase_user)
        platform.add_territory_figures(selectors.territory_figures)
