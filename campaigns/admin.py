"""Support site: leads, lists and campaigns."""

from django.contrib import admin

from campaigns.models import Campaign, Lead, LeadList


@admin.register(LeadList)
class LeadListAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "created_at"]
    search_fields = ["name"]
    raw_id_fields = ["account"]


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    list_display = [
        "phone",
        "first_name",
        "last_name",
        "account",
        "deleted_at",
        "suppressed_at",
    ]
    list_filter = ["deleted_at", "suppressed_at"]
    search_fields = ["phone", "first_name", "last_name"]
    raw_id_fields = ["account"]
    autocomplete_fields = ["lists"]
    show_full_result_count = False


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "state", "result", "launched_at", "done_at"]
    list_filter = ["state", "result", "launched_at"]
    search_fields = ["name"]
    raw_id_fields = ["account", "sender", "launched_by"]
    filter_horizontal = ["lists"]
    readonly_fields = [
        "state",
        "result",
        "launched_at",
        "fanned_out_at",
        "first_sent_at",
        "last_sent_at",
        "done_at",
        "canceled_at",
        "deleted_leads",
    ]
