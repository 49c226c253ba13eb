"""The delivery monitor's figures, read from the outcome count rows, never from the messages.

Delivery rate, error rate, "Delivery unknown" and time to receipt count the
messages a provider answered for (delivered, undelivered, failed, unknown):
what the portal refused before sending (rejected, expired) says nothing about
delivery and is left out. Rows are summed, so a figure is exact whether or not
the rows have been squashed.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from messaging.models import OutcomeCount
from messaging.statuses import BUCKET, Bucket, Status

# The bands of seconds a receipt is counted in (migration 0013 writes them).
RECEIPT_BANDS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 10800, 86400)
OVER_A_DAY = 1_000_000
ERRORS = frozenset({Status.UNDELIVERED, Status.FAILED})
ANSWERED = frozenset({Status.DELIVERED, Status.UNKNOWN, *ERRORS})
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass
class Figures:
    """One scope's outcomes over one window (a campaign's last hour, an account's day)."""

    answered: int = 0
    delivered: int = 0
    errors: int = 0
    unknown: int = 0
    by_error: Counter = field(default_factory=Counter)  # error id -> messages
    receipts: Counter = field(default_factory=Counter)  # band -> receipts

    def add(self, status: str, error_id: int | None, band: int | None, n: int) -> None:
        if status not in ANSWERED or not n:
            return
        self.answered += n
        if status == Status.DELIVERED:
            self.delivered += n
        elif status == Status.UNKNOWN:
            self.unknown += n
        else:
            self.errors += n
            if error_id is not None:
                self.by_error[error_id] += n
        if band is not None:
            self.receipts[band] += n

    def share(self, n: int) -> float | None:
        return 100 * n / self.answered if self.answered else None

    @property
    def delivery_rate(self) -> float | None:
        return self.share(self.delivered)

    @property
    def error_rate(self) -> float | None:
        return self.share(self.errors)

    @property
    def unknown_share(self) -> float | None:
        return self.share(self.unknown)

    def slower_than(self, seconds: int) -> int:
        """Receipts that took longer than seconds (a band edge) after the send."""
        return sum(n for band, n in self.receipts.items() if band > seconds)

    @property
    def receipt_median(self) -> int | None:
        """The band edge within which half the receipts came (None without receipts)."""
        total, seen = sum(self.receipts.values()), 0
        for band in sorted(self.receipts):
            seen += self.receipts[band]
            if 2 * seen >= total:
                return band
        return None


def band_words(seconds: int | None) -> str:
    """A band edge in words: "30 s", "5 min", "3 h", "over a day"."""
    if seconds is None:
        return "no receipts"
    if seconds >= OVER_A_DAY:
        return "over a day"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def monitor_figures(
    *,
    account_ids: Iterable[int] | None = None,
    campaign_ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> dict:
    """Last hour's and last day's figures per account, sender and campaign: one query.

    Of the given accounts' messages, or of the given campaigns'. Returns
    {"hour" | "day": {"account" | "sender" | "campaign": {id: Figures}}, and
    "titles": {error id: title}} (the titles joined in, not read apart).
    """
    now = now or timezone.now()
    scope = (
        Q(account_id__in=account_ids)
        if campaign_ids is None
        else Q(campaign_id__in=list(campaign_ids))
    )
    rows = (
        OutcomeCount.objects.filter(scope, minute__gte=now - DAY, status__in=ANSWERED)
        .values_list(
            "account_id",
            "sender_id",
            "campaign_id",
            "status",
            "error_id",
            "receipt_within",
            "error__title",
        )
        .annotate(day=Sum("count"), hour=Sum("count", filter=Q(minute__gte=now - HOUR)))
        .order_by()
    )
    figures: dict = {
        window: {
            scope: defaultdict(Figures) for scope in ("account", "sender", "campaign")
        }
        for window in ("hour", "day")
    }
    titles: dict[int, str] = {}
    for (
        account_id,
        sender_id,
        campaign_id,
        status,
        error_id,
        band,
        title,
        day,
        hour,
    ) in rows:
        if error_id is not None:
            titles[error_id] = title
        for window, n in (("day", day), ("hour", hour or 0)):
            scopes = figures[window]
            for scope, key in (
                ("account", account_id),
                ("sender", sender_id),
                ("campaign", campaign_id),
            ):
                if key is not None:
                    scopes[scope][key].add(status, error_id, band, n)
    return {**figures, "titles": titles}


def window_figures(
    *, since: datetime, campaign_ids: Iterable[int] | None = None
) -> dict[int, tuple[int, Figures]]:
    """Each campaign's figures since a time, with its account: one query (the alert sweep)."""
    rows = OutcomeCount.objects.filter(
        minute__gte=since, status__in=ANSWERED, campaign_id__isnull=False
    )
    if campaign_ids is not None:
        rows = rows.filter(campaign_id__in=list(campaign_ids))
    figures: dict[int, tuple[int, Figures]] = {}
    for account_id, campaign_id, status, error_id, band, n in (
        rows.values_list(
            "account_id", "campaign_id", "status", "error_id", "receipt_within"
        )
        .annotate(n=Sum("count"))
        .order_by()
    ):
        figures.setdefault(campaign_id, (account_id, Figures()))[1].add(
            status, error_id, band, n
        )
    return figures


def error_titles(by_error: Counter, titles: dict[int, str]) -> list[dict]:
    """Errors merged by title, most frequent first: [{"title", "count"}]."""
    merged: Counter = Counter()
    for error_id, n in by_error.items():
        merged[titles.get(error_id) or "Unknown error"] += n
    return [
        {"title": title, "count": n}
        for title, n in sorted(merged.items(), key=lambda item: (-item[1], item[0]))
    ]


def campaign_outcomes_by_minute(*, campaign_id: int) -> list[tuple[datetime, str, int]]:
    """A campaign's outcomes per minute and bucket (Sent, Error, Delivery unknown), oldest first."""
    rows = (
        OutcomeCount.objects.filter(campaign_id=campaign_id)
        .values_list("minute", "status")
        .annotate(n=Sum("count"))
        .order_by("minute")
    )
    return [(minute, BUCKET[status], n) for minute, status, n in rows if n]


def campaign_carriers(*, campaign_id: int) -> list[dict]:
    """A campaign's answered messages and errors per destination carrier, most errors first.

    Carrier "" gathers the messages whose provider did not name one.
    """
    totals: dict[str, Figures] = defaultdict(Figures)
    for carrier, status, error_id, n in (
        OutcomeCount.objects.filter(campaign_id=campaign_id, status__in=ANSWERED)
        .values_list("carrier", "status", "error_id")
        .annotate(n=Sum("count"))
        .order_by()
    ):
        totals[carrier].add(status, error_id, None, n)
    return sorted(
        (
            {"carrier": carrier, "figures": figures}
            for carrier, figures in totals.items()
            if figures.answered
        ),
        key=lambda row: (-row["figures"].errors, row["carrier"] == "", row["carrier"]),
    )


CHART_BUCKETS = (Bucket.SENT, Bucket.ERROR, Bucket.UNKNOWN)
# Bin widths in minutes; the smallest that keeps the chart within MAX_BINS bars.
BIN_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)
MAX_BINS = 48


def outcome_bins(rows: list[tuple[datetime, str, int]]) -> tuple[int, list[dict]]:
    """Group minute rows into bins of a width that suits the span; return (width, bins).

    Minutes for a short campaign, hours for a long one. Each bin has its start,
    its end (start + width) and a count per chart bucket; empty bins in between
    are kept so that time runs evenly along the chart.
    """
    if not rows:
        return 0, []
    first, last = rows[0][0], rows[-1][0]
    span = (last - first).total_seconds() / 60 + 1
    width = next((w for w in BIN_MINUTES if span / w <= MAX_BINS), BIN_MINUTES[-1])
    step = timedelta(minutes=width)
    epoch = datetime(2000, 1, 1, tzinfo=first.tzinfo)

    def start_of(moment: datetime) -> datetime:
        return epoch + step * ((moment - epoch) // step)

    bins: dict[datetime, dict] = {}
    moment = start_of(first)
    while moment <= last:
        bins[moment] = {"start": moment, "end": moment + step, "counts": Counter()}
        moment += step
    for minute, bucket, n in rows:
        if bucket in CHART_BUCKETS:
            bins[start_of(minute)]["counts"][bucket] += n
    return width, list(bins.values())
