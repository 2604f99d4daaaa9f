from django.contrib import admin

from .models import CheckedLink, TableSchema, ValidationReport


@admin.register(TableSchema)
class TableSchemaAdmin(admin.ModelAdmin):
    list_display = ("title", "version", "slug", "source_url")
    search_fields = ("title", "name", "slug")


@admin.register(ValidationReport)
class ValidationReportAdmin(admin.ModelAdmin):
    list_display = ("resource_key", "schema", "valid", "error_count", "created_at")
    list_filter = ("valid",)


@admin.register(CheckedLink)
class CheckedLinkAdmin(admin.ModelAdmin):
    list_display = ("url", "available", "last_status", "last_checked_at", "consecutive_failures")
