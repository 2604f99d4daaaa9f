from django.contrib import admin

from .models import RemoteCheck, TabularResource


@admin.register(TabularResource)
class TabularResourceAdmin(admin.ModelAdmin):
    list_display = ("resource_key", "title", "status", "format", "row_count", "converted_at")
    list_filter = ("status", "format")
    search_fields = ("resource_key", "title", "source_name")
    readonly_fields = ("columns", "dialect")


@admin.register(RemoteCheck)
class RemoteCheckAdmin(admin.ModelAdmin):
    list_display = ("resource", "checked_at", "outcome", "status_code", "size_bytes", "row_count")
    list_filter = ("outcome",)
    search_fields = ("resource__resource_key", "resource__title")
