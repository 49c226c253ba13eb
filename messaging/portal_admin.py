"""Portal site: the SMS log, filterable, with a streamed CSV export of the filtered rows."""

import csv
from collections.abc import Iterator

from django.contrib import admin
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path

from messaging.filters import MessageFilterSet
from messaging.models import Message
from messaging.statuses import STATUS_MEANING, bucket_of
from portal.sites import TenantAdminMixin, portal_site

LOG_PAGE = 50
EXPORT_CHUNK = 2000  # rows fetched per round trip while streaming

# The columns of every message export (the API export uses the same list).
EXPORT_COLUMNS = [
    "created_at",
    "direction",
    "phone",
    "status",
    "bucket",
    "error_provider",
    "error_code",
    "error_title",
    "campaign",
    "segments",
    "billed",
    "provider",
    "provider_message_id",
    "sent_at",
    "final_at",
    "body",
    "uuid",
]


def message_export_row(message: Message) -> list:
    error = message.error
    return [
        message.created_at.isoformat(),
        message.direction,
        message.phone,
        message.status,
        bucket_of(message.status).value,
        error.provider if error else "",
        error.code if error else "",
        error.title if error else "",
        message.campaign.name if message.campaign_id else "",
        message.segments,
        "yes" if message.billed else "no",
        message.provider,
        message.provider_message_id or "",
        message.sent_at.isoformat() if message.sent_at else "",
        message.final_at.isoformat() if message.final_at else "",
        message.body,
        str(message.uuid),
    ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(queryset) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for message in queryset.iterator(chunk_size=EXPORT_CHUNK):
        yield writer.writerow(message_export_row(message))


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
        # One query per page: fetch one extra row to know whether a next page exists.
        rows = list(filterset.qs[start : start + LOG_PAGE + 1])
        params = request.GET.copy()
        params.pop("page", None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "SMS log",
            "filterset": filterset,
            "rows": [
                {"message": m, "meaning": STATUS_MEANING[m.status]}
                for m in rows[:LOG_PAGE]
            ],
            "page_number": number,
            "has_next": len(rows) > LOG_PAGE,
            "query": params.urlencode(),
            **(extra_context or {}),
        }
        return TemplateResponse(request, "messaging/sms_log.html", context)

    def export_view(self, request: HttpRequest) -> StreamingHttpResponse:
        filterset = self._filtered(request)
        response = StreamingHttpResponse(
            _csv_lines(filterset.qs), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="sms-log.csv"'
        return response
