from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import ApiToken, Membership, Organisation, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_cdo", "is_moderator", "is_staff"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_active", "is_cdo", "is_moderator", "is_staff"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        ("Rôles", {"fields": ["is_active", "is_cdo", "is_moderator", "is_staff", "is_superuser", "groups"]}),
        ("Dates", {"fields": ["date_joined", "email_confirmed_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user", "decided_by"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "siren", "commune", "departement"]
    list_filter = ["kind"]
    search_fields = ["name", "slug", "siren"]
    raw_id_fields = ["commune", "epci", "departement", "region", "created_by"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organisation", "role", "status", "created_at"]
    list_filter = ["status", "role"]
    raw_id_fields = ["user", "organisation", "decided_by"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["user", "name", "prefix", "created_at", "last_used_at"]
    readonly_fields = ["digest"]
