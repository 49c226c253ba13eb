"""Portal site: the account's campaigns, leads and lists, scoped to the user's accounts."""

from functools import partial

from django.contrib import admin
from django.db.models import Count
from django.http import Http404
from django.urls import path

from campaigns import views
from campaigns.admin import LeadSaveMixin
from campaigns.models import Campaign, Lead, LeadImport, LeadList
from portal.sites import (
    PhoneSearchMixin,
    TenantAdminMixin,
    portal_site,
    progress_bar,
    request_account_ids,
)


class PortalModelAdmin(TenantAdminMixin, admin.ModelAdmin):
    show_full_result_count = False

    def _view(self, view):
        return self.admin_site.admin_view(partial(view, model_admin=self))


@admin.register(Campaign, site=portal_site)
class CampaignPortalAdmin(PortalModelAdmin):
    list_display = ["name", "state", "result", "launched_at", "done_at", "created_at"]
    list_filter = ["state", "result"]
    search_fields = ["name"]
    ordering = ["-created_at", "-pk"]

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account")

    def get_urls(self):
        return [
            path(
                "add/check/",
                self._view(views.campaign_compose_check_view),
                name="campaigns_campaign_add_check",
            ),
            path(
                "<path:object_id>/edit/check/",
                self._view(views.campaign_compose_check_view),
                name="campaigns_campaign_edit_check",
            ),
            path(
                "<path:object_id>/edit/",
                self._view(views.campaign_compose),
                name="campaigns_campaign_edit",
            ),
            path(
                "<path:object_id>/cancel/",
                self._view(views.campaign_cancel_confirm),
                name="campaigns_campaign_cancel",
            ),
            path(
                "<path:object_id>/bucket/<str:bucket>/",
                self._view(views.campaign_bucket_leads),
                name="campaigns_campaign_bucket",
            ),
            path(
                "<path:object_id>/do/<str:action>/",
                self._view(views.campaign_action),
                name="campaigns_campaign_action",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return views.campaign_compose(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.campaign_detail(request, model_admin=self, object_id=object_id)


@admin.register(Lead, site=portal_site)
class LeadPortalAdmin(PhoneSearchMixin, LeadSaveMixin, PortalModelAdmin):
    list_display = ["phone", "first_name", "last_name", "suppressed_at", "created_at"]
    search_fields = ["phone", "first_name", "last_name"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(deleted_at__isnull=True)

    def get_object(self, request, object_id, from_field=None):
        # A deleted lead's history stays reachable: the drill-down links to it.
        lead = Lead.objects.filter(
            pk=object_id if str(object_id).isdigit() else None,
            account__in=request_account_ids(request),
        ).first()
        if lead is None:
            raise Http404("No such lead in your accounts.")
        return lead

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.lead_history(request, model_admin=self, object_id=object_id)


@admin.register(LeadList, site=portal_site)
class LeadListPortalAdmin(PortalModelAdmin):
    list_display = ["name", "lead_count", "created_at"]
    search_fields = ["name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lead_count=Count("leads"))

    @admin.display(description="Leads", ordering="lead_count")
    def lead_count(self, obj) -> int:
        return obj.lead_count


@admin.register(LeadImport, site=portal_site)
class LeadImportPortalAdmin(PortalModelAdmin):
    """Lead imports: upload a CSV, follow its progress, read the report of bad rows."""

    list_display = ["__str__", "status", "progress", "rows_imported", "rows_failed"]
    list_filter = ["status"]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        # The report of bad rows can be long; only an import's own page reads it.
        return super().get_queryset(request).defer("errors")

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    @admin.display(description="Progress")
    def progress(self, imp: LeadImport) -> str:
        return progress_bar(done=imp.rows_done, total=imp.rows_total)

    def add_view(self, request, form_url="", extra_context=None):
        return views.lead_import_upload_view(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.lead_import_detail(request, model_admin=self, object_id=object_id)
