from django.contrib import admin

from . import search
from .models import RegionalTheme


@admin.register(RegionalTheme)
class RegionalThemeAdmin(admin.ModelAdmin):
    list_display = ("code", "label", "eu_theme")
    search_fields = ("code", "label")
    list_filter = ("eu_theme",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        search.bump_version()  # facet labels are cached by catalogue version
