from django.contrib import admin

from .models import Debate, Meeting, Subscription


class MeetingInline(admin.TabularInline):
    model = Meeting
    extra = 0


@admin.register(Debate)
class DebateAdmin(admin.ModelAdmin):
    list_display = ("title", "organiser_name", "level", "kind", "status", "moderation", "opens_on", "closes_on")
    list_filter = ("status", "moderation", "level", "kind")
    search_fields = ("title", "organiser_name")
    inlines = [MeetingInline]
    raw_id_fields = ("organiser", "commune", "origin_source", "submitted_by", "moderated_by")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("email", "frequency", "confirmed_at")
    raw_id_fields = ("commune",)
