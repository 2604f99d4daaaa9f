from django.contrib import admin

from regio.core.ingest.models import Item, ItemError, Run, Source


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "owner", "enabled", "schedule_minutes")
    list_filter = ("kind", "enabled")


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("source", "status", "dry_run", "started_at", "created", "updated", "unchanged", "archived", "failed")
    list_filter = ("status",)


admin.site.register(Item)
admin.site.register(ItemError)
