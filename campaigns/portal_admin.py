"""Portal site: the account's campaigns, leads and lists, scoped to the user's accounts."""

from functools import partial

from django import forms
from django.contrib import admin
from django.db.models import Count
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext

from campaigns import compose_views, lead_pages, lead_views, views
from campaigns.forms import LeadListChoiceForm
from campaigns.leads import leads_add_to_list, leads_delete, leads_remove_from_list
from campaigns.models import Campaign, Lead, LeadImport, LeadList
from portal.sites import (
    PhoneSearchMixin,
    TenantAdminMixin,
    portal_site,
    progress_bar,
    request_account_ids,
)

LIST_ACTION_NAMED = 20  # leads named on a list action's page; the count says the rest


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
                self._view(compose_views.campaign_compose_check_view),
                name="campaigns_campaign_add_check",
            ),
            path(
                "<path:object_id>/edit/check/",
                self._view(compose_views.campaign_compose_check_view),
                name="campaigns_campaign_edit_check",
            ),
            path(
                "<path:object_id>/edit/",
                self._view(compose_views.campaign_compose),
                name="campaigns_campaign_edit",
            ),
            path(
                "<path:object_id>/cancel/",
                self._view(compose_views.campaign_cancel_confirm),
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
        return compose_views.campaign_compose(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return views.campaign_detail(request, model_admin=self, object_id=object_id)


class LeadListFilter(admin.SimpleListFilter):
    """Leads of one of the user's lists."""

    title = "list"
    parameter_name = "list"

    def lookups(self, request, model_admin):
        return LeadList.objects.filter(
            account__in=request_account_ids(request)
        ).values_list("pk", "name")

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(lists=self.value())
        return queryset


@admin.register(Lead, site=portal_site)
class LeadPortalAdmin(PhoneSearchMixin, PortalModelAdmin):
    list_display = ["name_link", "phone", "suppressed_at", "created_at", "edit_link"]
    list_display_links = None  # a lead's page is its history; Edit is a column
    list_filter = [LeadListFilter]
    search_fields = ["phone", "first_name", "last_name"]
    actions = ["add_to_list", "remove_from_list", "delete_leads"]

    @admin.display(description="Lead", ordering="first_name")
    def name_link(self, lead: Lead) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse(f"{self.admin_site.name}:campaigns_lead_change", args=[lead.pk]),
            lead.name or "(no name)",
        )

    @admin.display(description="")
    def edit_link(self, lead: Lead) -> str:
        return format_html(
            '<a href="{}">Edit</a>',
            reverse(f"{self.admin_site.name}:campaigns_lead_edit", args=[lead.pk]),
        )

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

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

    def get_urls(self):
        return [
            path(
                "<path:object_id>/edit/",
                self._view(lead_pages.lead_edit),
                name="campaigns_lead_edit",
            ),
            path(
                "<path:object_id>/remove/",
                self._view(lead_pages.lead_delete_confirm),
                name="campaigns_lead_remove",
            ),
            *super().get_urls(),
        ]

    def add_view(self, request, form_url="", extra_context=None):
        return lead_pages.lead_edit(request, model_admin=self)

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": "Leads", **(extra_context or {})}
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return lead_views.lead_history(request, model_admin=self, object_id=object_id)

    def _action_page(self, request, queryset, **context):
        """The page an action shows before it acts: the selection, and what to confirm."""
        return TemplateResponse(
            request,
            "campaigns/lead_action.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "leads": queryset[:LIST_ACTION_NAMED],
                "count": queryset.count(),
                "action": request.POST["action"],
                "selected": request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                **context,
            },
        )

    def _membership(self, request, queryset, *, service, title: str, done: str):
        """The list actions: choose one of the user's lists, then apply the service."""
        form = LeadListChoiceForm(
            request.POST if "apply" in request.POST else None,
            lists=LeadList.objects.filter(account__in=request_account_ids(request)),
        )
        if form.is_valid():
            lead_list = form.cleaned_data["lead_list"]
            n = service(lead_list=lead_list, lead_ids=queryset.values("pk"))
            self.message_user(
                request,
                ngettext(
                    "%(n)d lead %(done)s %(list)s.",
                    "%(n)d leads %(done)s %(list)s.",
                    n,
                )
                % {"n": n, "done": done, "list": lead_list.name},
            )
            return None
        return self._action_page(request, queryset, title=title, form=form)

    @admin.action(description="Delete selected leads…")
    def delete_leads(self, request, queryset):
        if "apply" not in request.POST:
            return self._action_page(
                request,
                queryset,
                title="Delete leads",
                note="They will no longer be texted and leave the leads page. Their "
                "messages and history stay, and campaigns already launched count them "
                'under "Deleted leads". This cannot be undone here; adding a lead '
                "with the same number later brings it back.",
                danger=True,
            )
        n = leads_delete(lead_ids=queryset.values("pk"))
        self.message_user(
            request, ngettext("%d lead deleted.", "%d leads deleted.", n) % n
        )
        return None

    @admin.action(description="Add selected leads to a list…")
    def add_to_list(self, request, queryset):
        return self._membership(
            request,
            queryset,
            service=leads_add_to_list,
            title="Add leads to a list",
            done="added to",
        )

    @admin.action(description="Remove selected leads from a list…")
    def remove_from_list(self, request, queryset):
        return self._membership(
            request,
            queryset,
            service=leads_remove_from_list,
            title="Remove leads from a list",
            done="removed from",
        )


@admin.register(LeadList, site=portal_site)
class LeadListPortalAdmin(PortalModelAdmin):
    list_display = ["name", "lead_count", "created_at"]
    search_fields = ["name"]
    fields = ["account", "name"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(lead_count=Count("leads"))

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if len(request_account_ids(request)) == 1:  # nothing to choose
            form.base_fields["account"].initial = request_account_ids(request)[0]
            form.base_fields["account"].widget = forms.HiddenInput()
        return form

    @admin.display(description="Leads", ordering="lead_count")
    def lead_count(self, obj) -> int:
        return obj.lead_count

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return lead_pages.lead_list_detail(
            request, model_admin=self, object_id=object_id
        )


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
        return lead_views.lead_import_upload_view(request, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return lead_views.lead_import_detail(
            request, model_admin=self, object_id=object_id
        )
