"""The campaign page's delivery monitor: outcomes over time, carriers, alerts, pause state.

Everything here reads the outcome count rows (messaging.monitor), never the
messages, except the count of held messages of a paused campaign.
"""

from datetime import datetime

from django.utils import timezone

from campaigns.models import Campaign
from campaigns.pausing import PAUSE_VALIDITY
from messaging.monitor import (
    CHART_BUCKETS,
    band_words,
    campaign_carriers,
    campaign_outcomes_by_minute,
    error_titles,
    monitor_figures,
    outcome_bins,
)
from messaging.pauses import campaign_messages_held

CHART_HEIGHT = 40  # the SVG's viewBox height; bars are scaled to the tallest bin
ALERTS_SHOWN = 5


def bin_label(start: datetime, end: datetime, *, width: int, dated: bool) -> str:
    """A bin in words, in the viewer's time zone: "13:00–13:05", "Mar 3 13:00–14:00", "Mar 3"."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    day = f"{start:%b} {start.day}"
    if width >= 1440:
        return day
    span = f"{start:%H:%M}–{end:%H:%M}"
    return f"{day} {span}" if dated else span


def outcome_chart(*, campaign_id: int) -> dict:
    """The stacked bars of outcomes over time, in bins that suit the campaign's span."""
    width, bins = outcome_bins(campaign_outcomes_by_minute(campaign_id=campaign_id))
    if not bins:
        return {"bars": []}
    dated = timezone.localdate(bins[0]["start"]) != timezone.localdate(
        bins[-1]["start"]
    )
    peak = max(sum(b["counts"].values()) for b in bins) or 1
    slot = 100 / len(bins)
    bars = []
    for i, b in enumerate(bins):
        y = float(CHART_HEIGHT)
        segments = []
        for bucket in CHART_BUCKETS:
            n = b["counts"][bucket]
            height = CHART_HEIGHT * n / peak
            y -= height
            if n:
                segments.append(
                    {
                        "key": bucket.value,
                        "label": bucket.label,
                        "n": n,
                        "y": round(y, 3),
                        "height": round(height, 3),
                    }
                )
        bars.append(
            {
                "label": bin_label(b["start"], b["end"], width=width, dated=dated),
                "x": round(i * slot + slot * 0.05, 3),
                "width": round(slot * 0.9, 3),
                "segments": segments,
                "total": sum(b["counts"].values()),
            }
        )
    unit = f"{width} minute" if width < 60 else f"{width // 60} hour"
    return {
        "bars": bars,
        "bin": unit + ("" if width in (1, 60) else "s"),
        "legend": [{"key": b.value, "label": b.label} for b in CHART_BUCKETS],
    }


def figures_rows(*, campaign_id: int, now: datetime) -> list[dict]:
    """The campaign's last hour and last day, for the monitor table."""
    figures = monitor_figures(campaign_ids=[campaign_id], now=now)
    found = [figures[w]["campaign"].get(campaign_id) for w in ("hour", "day")]
    return [
        monitor_row(label, f, figures["titles"])
        for label, f in zip(("Last hour", "Last day"), found, strict=True)
    ]


def monitor_row(label: str, figures, titles: dict[int, str]) -> dict:
    """One window's figures in words (shared by the campaign page and the widget)."""
    if figures is None or not figures.answered:
        return {"label": label, "answered": 0}
    return {
        "label": label,
        "answered": figures.answered,
        "delivery_rate": figures.delivery_rate,
        "error_rate": figures.error_rate,
        "unknown_share": figures.unknown_share,
        "receipt_median": band_words(figures.receipt_median),
        "slow": figures.slower_than(300),
        "receipts": sum(figures.receipts.values()),
        "errors": error_titles(figures.by_error, titles)[:3],
    }


def campaign_monitor_context(*, campaign: Campaign) -> dict:
    """What the campaign page shows of the monitor."""
    now = timezone.now()
    alerts = list(campaign.alerts.all()[:ALERTS_SHOWN])
    return {
        "chart": outcome_chart(campaign_id=campaign.pk),
        "carriers": campaign_carriers(campaign_id=campaign.pk),
        "monitor_rows": figures_rows(campaign_id=campaign.pk, now=now),
        "open_alerts": [a for a in alerts if a.cleared_at is None],
        "past_alerts": [a for a in alerts if a.cleared_at is not None],
        "held": campaign_messages_held(campaign_id=campaign.pk)
        if campaign.state == Campaign.State.PAUSED
        else 0,
        "pause_validity": PAUSE_VALIDITY,
    }
