from django.contrib import admin

from . import ledger
from .models import (
    Account,
    BudgetLine,
    Counterpart,
    Entry,
    MatchReservation,
    Pledge,
    Programme,
    Project,
    StatementImport,
    StatementLine,
    Transaction,
    Update,
    WebhookEvent,
)


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["name", "mode", "envelope_cents", "committed_cents", "starts_at", "ends_at", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["committed_cents"]

    def get_readonly_fields(self, request, obj=None):
        # The envelope is allotted through the ledger: change it with services.increase_envelope.
        return ["committed_cents", "envelope_cents"] if obj else ["committed_cents"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            ledger.envelope_allotted(obj, obj.envelope_cents)


class BudgetLineInline(admin.TabularInline):
    model = BudgetLine
    extra = 0


class CounterpartInline(admin.TabularInline):
    model = Counterpart
    extra = 0


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["title", "category", "commune", "goal_cents", "moderation_status", "campaign_state", "deadline"]
    list_filter = ["moderation_status", "campaign_state", "category"]
    search_fields = ["title", "slug"]
    raw_id_fields = ["owner", "organisation", "commune"]
    readonly_fields = ["campaign_state", "moderation_status"]
    inlines = [BudgetLineInline, CounterpartInline]


@admin.register(Pledge)
class PledgeAdmin(admin.ModelAdmin):
    list_display = ["payment_reference", "project", "amount_cents", "status", "provider", "created_at"]
    list_filter = ["status", "provider"]
    search_fields = ["payment_reference", "idempotency_key"]
    raw_id_fields = ["project", "backer"]

    def has_change_permission(self, request, obj=None):
        return False  # money moves through services only


@admin.register(MatchReservation)
class MatchReservationAdmin(admin.ModelAdmin):
    list_display = ["project", "programme", "amount_cents", "status", "created_at"]
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None):
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    extra = 0
    can_delete = False
    readonly_fields = ["account", "debit_cents", "credit_cents"]


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["key", "kind", "created_at"]
    list_filter = ["kind"]
    inlines = [EntryInline]

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(Account)
admin.site.register(Update)
admin.site.register(WebhookEvent)
admin.site.register(StatementImport)
admin.site.register(StatementLine)
