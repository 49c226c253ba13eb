"""Portal site: the SMS log with a streamed CSV export, export files with progress, opt-outs."""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from messaging.admin import OptInActionMixin
from messaging.export_jobs import ExportNotReady, message_export_file_response
from messaging.exports import message_export_response
from messaging.filters import MessageFilterSet
from messaging.forms import OptOutForm, OptOutImportForm
from messaging.models import Message, MessageExport, OptOut, OptOutEvent
from messaging.optouts import opt_in_record, opt_out_record, opt_outs_import
from messaging.statuses import STATUS_MEANING, bucket_of
from portal.models import Account
from portal.sites import (
    PhoneSearchMixin,
    TenantAdminMixin,
    portal_site,
    progress_bar,
    request_account_ids,
)

LOG_PAGE = 50


@admin.register(Message, site=portal_site)
class SmsLogAdmin(TenantAdminMixin, admin.ModelAdmin):
    list_select_related = ["error", "campaign"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .select_related("error", "campaign")
            .order_by("-created_at", "-pk")
        )

    def get_urls(self):
        return [
            path(
                "export.csv",
                self.admin_site.admin_view(self.export_view),
                name="messaging_message_export",
            ),
            *super().get_urls(),
        ]

    def _filtered(self, request: HttpRequest) -> MessageFilterSet:
        return MessageFilterSet(
            request.GET, queryset=self.get_queryset(request), request=request
        )

    def changelist_view(self, request: HttpRequest, extra_context=None):
        filterset = self._filtered(request)
        try:
            number = max(1, int(request.GET.get("page", 1)))
        except ValueError:
            number = 1
        start = (number - 1) * LOG_PAGE
        # One query per page: fetch one extra row to know whether a next page
        # exists. Filters that are not valid (another account's campaign, a
        # word for an id) show their error and no rows, never every message.
        rows = []
        if filterset.is_valid():
            rows = list(filterset.qs[start : start + LOG_PAGE + 1])
        params = request.GET.copy()
        params.pop("page", None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "SMS log",
            "filterset": filterset,
            "rows": [
                {
                    "message": m,
                    "meaning": STATUS_MEANING[m.status],
                    "bucket": bucket_of(m.status),
                }
                for m in rows[:LOG_PAGE]
            ],
            "page_number": number,
            "has_next": len(rows) > LOG_PAGE,
            "query": params.urlencode(),
            **(extra_context or {}),
        }
        return TemplateResponse(
            request,
            "messaging/sms_log.html",
            context,
            status=200 if filterset.is_valid() else 400,
        )

    def export_view(
        self, request: HttpRequest
    ) -> StreamingHttpResponse | TemplateResponse:
        filterset = self._filtered(request)
        if not filterset.is_valid():
            return self.changelist_view(request)  # the SMS log, with the error
        return message_export_response(filterset.qs, filename="sms-log.csv")


@admin.register(MessageExport, site=portal_site)
class MessageExportPortalAdmin(TenantAdminMixin, admin.ModelAdmin):
    """Export files (started from a campaign's page or the API): progress and download."""

    list_display = ["__str__", "status", "progress", "created_at", "download"]
    list_filter = ["status"]
    ordering = ["-created_at", "-pk"]
    show_full_result_count = False

    def get_urls(self):
        return [
            path(
                "<path:object_id>/download/",
                self.admin_site.admin_view(self.download_view),
                name="messaging_messageexport_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description="Progress")
    def progress(self, export: MessageExport) -> str:
        return progress_bar(done=export.rows_done, total=export.rows_total)

    @admin.display(description="File")
    def download(self, export: MessageExport) -> str:
        if export.status != MessageExport.Status.DONE:
            return export.failure_reason or "-"
        return format_html('<a href="{}">Download CSV</a>', self._download_url(export))

    def _download_url(self, export: MessageExport) -> str:
        return reverse(
            f"{self.admin_site.name}:messaging_messageexport_download",
            args=[export.pk],
        )

    def change_view(
        self, request: HttpRequest, object_id, form_url="", extra_context=None
    ):
        export = self.get_object(request, object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(export),
            "job": export,
            "running": export.status
            in (MessageExport.Status.PENDING, MessageExport.Status.RUNNING),
            "download_url": self._download_url(export)
            if export.status == MessageExport.Status.DONE
            else "",
        }
        return TemplateResponse(request, "messaging/export_detail.html", context)

    def download_view(self, request: HttpRequest, object_id: str) -> FileResponse:
        try:
            return message_export_file_response(
                export=self.get_object(request, object_id)
            )
        except ExportNotReady as exc:
            raise Http404(exc.detail) from None


class OptOutSourceFilter(admin.SimpleListFilter):
    """Why numbers are opted out, in words (no query for the choices)."""

    title = "why"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return OptOutEvent.Source.choices

    def queryset(self, request, queryset):
        return queryset.filter(source=self.value()) if self.value() else queryset


@admin.register(OptOut, site=portal_site)
class OptOutPortalAdmin(
    OptInActionMixin, PhoneSearchMixin, TenantAdminMixin, admin.ModelAdmin
):
    """The account's opt-out list: search it, opt a number out or in by hand, import a file."""

    list_display = ["phone", "source_label", "detail", "opted_out_at"]
    list_display_links = None  # nothing to open: the audit is on the lead's history
    list_filter = [OptOutSourceFilter]
    search_fields = ["phone"]
    ordering = ["-created_at", "-pk"]
    show_full_result_count = False
    actions = ["opt_in_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)

    @admin.display(description="Why", ordering="source")
    def source_label(self, opt_out: OptOut) -> str:
        return dict(OptOutEvent.Source.choices).get(opt_out.source, opt_out.source)

    @admin.display(description="Opted out", ordering="created_at")
    def opted_out_at(self, opt_out: OptOut):
        return opt_out.created_at

    def changelist_view(self, request: HttpRequest, extra_context=None):
        return super().changelist_view(
            request,
            {"title": "Opt-outs: numbers no campaign texts", **(extra_context or {})},
        )

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="messaging_optout_import",
            ),
            *super().get_urls(),
        ]

    def _accounts(self, request: HttpRequest):
        return Account.objects.filter(pk__in=request_account_ids(request))

    def _page(self, request: HttpRequest, template: str, **context):
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.opts, **context},
        )

    def add_view(self, request: HttpRequest, form_url="", extra_context=None):
        """Opt a number out, or back in, by hand; the audit keeps who and why."""
        form = OptOutForm(request.POST or None, accounts=self._accounts(request))
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            opting_in = "_opt_in" in request.POST
            record = opt_in_record if opting_in else opt_out_record
            changed = record(
                account_id=data["account"].pk,
                phone=data["phone"],
                source=OptOutEvent.Source.STAFF,
                detail=data["detail"]
                or ("Opted in by staff" if opting_in else "Opted out by staff"),
                actor=request.user,
            )
            words = {
                (False, True): "%s is opted out: it will not be texted.",
                (False, False): "%s was already opted out.",
                (True, True): "%s is opted back in: it may be texted again.",
                (True, False): "%s was not opted out.",
            }
            level = messages.SUCCESS if changed else messages.WARNING
            self.message_user(request, words[opting_in, changed] % data["phone"], level)
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:messaging_optout_changelist")
                + "?"
                + urlencode({"q": data["phone"]})
            )
        return self._page(
            request,
            "messaging/optout_form.html",
            title="Opt a number out or in",
            form=form,
        )

    def import_view(self, request: HttpRequest):
        """Opt out every number of a file; rows that are not numbers are named."""
        form = OptOutImportForm(
            request.POST or None,
            request.FILES or None,
            accounts=self._accounts(request),
        )
        result = None
        if request.method == "POST" and form.is_valid():
            account = form.cleaned_data["account"]
            result = opt_outs_import(
                account_id=account.pk,
                region=account.default_country,
                lines=form.cleaned_data["file"],
                actor=request.user,
            )
            self.message_user(
                request,
                result.summary,
                messages.WARNING if result.rows_failed else messages.SUCCESS,
            )
            if not result.rows_failed:
                return HttpResponseRedirect(
                    reverse(f"{self.admin_site.name}:messaging_optout_changelist")
                )
        return self._page(
            request,
            "messaging/optout_import.html",
            title="Import opt-outs",
            form=form,
            result=result,
        )
