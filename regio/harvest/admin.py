from django.contrib import admin

from .models import DatasetOrigin, HarvestSource


@admin.register(HarvestSource)
class HarvestSourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "owner", "enabled")
    list_filter = ("kind", "enabled")


@admin.register(DatasetOrigin)
class DatasetOriginAdmin(admin.ModelAdmin):
    list_display = ("dataset", "source", "remote_id", "primary", "loop", "archived_at")
    list_filter = ("primary", "loop")
    raw_id_fields = ("dataset",)
