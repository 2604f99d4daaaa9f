from django.apps import AppConfig


class FinanceConfig(AppConfig):
    name = "regio.finance"
    label = "finance"
    verbose_name = "Budgets et subventions"

    def ready(self):
        from django.db.models.signals import post_save

        from regio.catalog.models import Resource
        from regio.catalog.signals import datasets_bulk_saved
        from regio.core.registry import platform

        from .demo import load_demo
        from .signals import on_datasets_bulk_saved, on_resource_saved

        post_save.connect(on_resource_saved, sender=Resource, dispatch_uid="finance_scdl_resource")
        datasets_bulk_saved.connect(on_datasets_bulk_saved, dispatch_uid="finance_scdl_bulk")
        platform.add_nav("Subventions", "finance:subsidies", 50)
        platform.add_nav("Budgets", "finance:budgets", 51)
        platform.add_demo("budgets et subventions", load_demo, 70)
