from django.contrib import admin

from .models import AgentCount, Comment, DataRequest, ObligationRun, Support, Transition


class TransitionInline(admin.TabularInline):
    model = Transition
    extra = 0


@admin.register(DataRequest)
class DataRequestAdmin(admin.ModelAdmin):
    list_display = ("title", "status", "moderation", "holder", "submitted_at", "legal_deadline")
    list_filter = ("status", "moderation")
    search_fields = ("title", "slug")
    inlines = [TransitionInline]


admin.site.register([Support, Comment, AgentCount, ObligationRun])
