"""The Recent errors dashboard widget: this week's top error titles with their meaning."""

from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.http import HttpRequest
from django.utils import timezone

from messaging.models import ErrorCode, MessageCount
from messaging.statuses import Bucket, statuses_in
from portal.dashboard import Widget, widget_register
from portal.models import Account

RECENT_ERRORS_DAYS = 7
RECENT_ERRORS_SHOWN = 8


def recent_errors_context(request: HttpRequest, accounts: QuerySet[Account]) -> dict:
    # Count rows are kept per day (UTC): "this week" is today and the 6 days before.
    since = timezone.now().date() - timedelta(days=RECENT_ERRORS_DAYS - 1)
    rows = list(
        MessageCount.objects.filter(
            account__in=accounts,
            day__gte=since,
            status__in=statuses_in(Bucket.ERROR),
            error__isnull=False,
        )
        .values_list("error_id")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by()
    )
    errors = ErrorCode.objects.in_bulk([error_id for error_id, _ in rows])
    by_title: dict[str, dict] = {}
    for error_id, n in rows:
        error = errors[error_id]
        entry = by_title.setdefault(error.title, {"error": error, "count": 0})
        entry["count"] += n
    top = sorted(by_title.values(), key=lambda e: (-e["count"], e["error"].title))
    return {"recent_errors": top[:RECENT_ERRORS_SHOWN], "days": RECENT_ERRORS_DAYS}


def register() -> None:
    widget_register(
        Widget(
            id="recent_errors",
            title="Recent errors",
            template="messaging/widgets/recent_errors.html",
            order=20,
            context=recent_errors_context,
        )
    )
