"""Support site: leads, lists, lead imports and campaigns."""

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils.translation import ngettext

from campaigns.lead_views import IMPORT_ERRORS_SHOWN
from campaigns.leads import lead_create, lead_update
from campaigns.models import Campaign, Lead, LeadImport, LeadList
from campaigns.services import (
    CampaignNotCancelable,
    campaign_cancel,
    campaign_create,
    campaign_resend_failed,
    campaign_suppress_permanent,
    campaign_update,
)
from portal.sites import (
    PhoneSearchMixin,
    ReadOnlyAdminMixin,
    progress_bar,
    support_site,
)


@admin.register(LeadList, site=support_site)
class LeadListAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "created_at"]
    search_fields = ["name"]
    raw_id_fields = ["account"]


class ServiceSaveMixin:
    """The form's fields (lists included) are saved by the admin's save_through_service.

    It calls a service and returns the saved row, whose id goes back on the
    admin's object so the add page can redirect to it.
    """

    def save_model(self, request, obj, form, change):
        data = dict(form.cleaned_data)
        obj.pk = self.save_through_service(request, obj, data, change).pk

    def save_related(self, request, form, formsets, change):
        for formset in formsets:  # the many-to-many fields went through the service
            self.save_formset(request, form, formset, change=change)


@admin.register(Lead, site=support_site)
class LeadAdmin(PhoneSearchMixin, ServiceSaveMixin, admin.ModelAdmin):
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
    readonly_fields = ["created_at"]
    show_full_result_count = False

    def save_through_service(self, request, obj, data: dict, change: bool) -> Lead:
        if change:
            return lead_update(lead=obj, **data)
        account = data.pop("account")
        return lead_create(account_id=account.pk, **data)


@admin.register(Campaign, site=support_site)
class CampaignAdmin(ServiceSaveMixin, admin.ModelAdmin):
    actions = ["cancel_selected", "resend_failed", "suppress_permanent"]
    show_full_result_count = False
    list_select_related = ["account"]
    list_display = ["name", "account", "state", "result", "launched_at", "done_at"]
    list_filter = ["state", "result", "launched_at"]
    search_fields = ["name"]
    raw_id_fields = ["account", "sender"]
    filter_horizontal = ["lists"]
    readonly_fields = [
        "created_at",
        "launched_by",
        "state",
        "result",
        "launched_at",
        "fanned_out_at",
        "first_sent_at",
        "last_sent_at",
        "done_at",
        "canceled_at",
    ]

    def has_change_permission(self, request, obj=None) -> bool:
        # Only a draft changes (campaign_update's rule): a launched campaign's
        # page shows its body, sender and lists without a form.
        if obj is not None and obj.state != Campaign.State.DRAFT:
            return False
        return super().has_change_permission(request, obj)

    def save_through_service(self, request, obj, data: dict, change: bool) -> Campaign:
        if change:
            return campaign_update(campaign_id=obj.pk, actor=request.user, **data)
        account = data.pop("account")
        return campaign_create(account_id=account.pk, actor=request.user, **data)

    def log_addition(self, request, obj, message):
        """campaign_create records it in the audit trail."""

    def log_change(self, request, obj, message):
        """campaign_update records it in the audit trail."""

    def _run(self, request, queryset, service, singular: str, plural: str):
        total = sum(
            service(campaign_id=pk, actor=request.user)
            for pk in queryset.values_list("pk", flat=True)
        )
        self.message_user(request, ngettext(singular, plural, total) % total)

    @admin.action(description="Cancel selected campaigns")
    def cancel_selected(self, request, queryset):
        canceled, any_canceled = 0, False
        for pk in queryset.values_list("pk", flat=True):
            try:
                canceled += campaign_cancel(campaign_id=pk, actor=request.user)
                any_canceled = True
            except CampaignNotCancelable as refused:
                self.message_user(request, str(refused), messages.WARNING)
        if any_canceled:
            self.message_user(
                request,
                ngettext(
                    "%d queued message canceled.",
                    "%d queued messages canceled.",
                    canceled,
                )
                % canceled,
            )

    @admin.action(description="Resend messages with temporary errors")
    def resend_failed(self, request, queryset):
        self._run(
            request,
            queryset,
            campaign_resend_failed,
            "%d message queued again.",
            "%d messages queued again.",
        )

    @admin.action(description="Suppress numbers with permanent errors")
    def suppress_permanent(self, request, queryset):
        self._run(
            request,
            queryset,
            campaign_suppress_permanent,
            "%d number suppressed.",
            "%d numbers suppressed.",
        )


@admin.register(LeadImport, site=support_site)
class LeadImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Imports of every account: progress, counts, why a file failed, its bad rows."""

    list_display = [
        "__str__",
        "account",
        "status",
        "progress",
        "rows_imported",
        "rows_failed",
        "created_at",
    ]
    list_filter = ["status", "created_at"]
    list_select_related = ["account"]
    search_fields = ["filename"]
    raw_id_fields = ["account", "lead_list", "created_by"]
    show_full_result_count = False
    fields = [
        "account",
        "lead_list",
        "filename",
        "status",
        "progress",
        "rows_imported",
        "rows_created",
        "rows_failed",
        "failure_reason",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "error_report",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        # The report of bad rows can be long; only an import's own page reads it.
        return super().get_queryset(request).defer("errors")

    @admin.display(description="Progress")
    def progress(self, imp: LeadImport) -> str:
        return progress_bar(done=imp.rows_done, total=imp.rows_total)

    @admin.display(description="Bad rows")
    def error_report(self, imp: LeadImport) -> str:
        return render_to_string(
            "campaigns/_import_errors.html",
            {
                "job": imp,
                "errors": imp.errors[:IMPORT_ERRORS_SHOWN],
                "errors_shown": IMPORT_ERRORS_SHOWN,
            },
        )
