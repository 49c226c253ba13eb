"""Support site: leads, lists and campaigns."""

from django.contrib import admin
from django.utils.translation import ngettext

from campaigns.models import Campaign, Lead, LeadList
from portal.sites import support_site


@admin.register(LeadList, site=support_site)
class LeadListAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "created_at"]
    search_fields = ["name"]
    raw_id_fields = ["account"]


@admin.register(Lead, site=support_site)
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


@admin.register(Campaign, site=support_site)
class CampaignAdmin(admin.ModelAdmin):
    actions = ["cancel_selected", "resend_failed", "suppress_permanent"]
    show_full_result_count = False
    list_select_related = ["account"]
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

    def _run(self, request, queryset, service_name: str, singular: str, plural: str):
        from campaigns import services  # the pipeline's services, read at call time

        service = getattr(services, service_name)
        total = sum(
            service(campaign_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, ngettext(singular, plural, total) % total)

    @admin.action(description="Cancel selected campaigns")
    def cancel_selected(self, request, queryset):
        self._run(
            request,
            queryset,
            "campaign_cancel",
            "%d queued message canceled.",
            "%d queued messages canceled.",
        )

    @admin.action(description="Resend messages with temporary errors")
    def resend_failed(self, request, queryset):
        self._run(
            request,
            queryset,
            "campaign_resend_failed",
            "%d message queued again.",
            "%d messages queued again.",
        )

    @admin.action(description="Suppress numbers with permanent errors")
    def suppress_permanent(self, request, queryset):
        self._run(
            request,
            queryset,
            "campaign_suppress_permanent",
            "%d number suppressed.",
            "%d numbers suppressed.",
        )
