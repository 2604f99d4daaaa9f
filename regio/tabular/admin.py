from django.contrib import admin

from .models import TabularResource


@admin.register(TabularResource)
class TabularResourceAdmin(admin.ModelAdmin):
    list_display = ("resource_key", "title", "status", "format", "row_count", "converted_at")
    list_filter = ("status", "format")
    search_fields = ("resource_key", "title", "source_name")
    readonly_fields = ("columns", "dialect")
