"""When a campaign would finish sending: its sender's limits and its leads' quiet hours."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Min, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from campaigns.models import Lead
from messaging.models import Brand, Sender
from messaging.quiet_hours import SendingHours, sending_hours
from messaging.throughput import (
    BRAND_DAY_ZONE,
    brand_daily_limit,
    brand_sent_today,
    lane_per_second,
    per_second,
)
from portal.models import Account

STEP = timedelta(minutes=1)  # the simulation's tick
HORIZON = timedelta(days=14)  # past this, "more than two weeks"
# Enough of a number to place it (+1 and the area code and exchange): leads
# are read grouped by it, not one by one.
PREFIX_CHARS = 8


@dataclass
class _Group:
    hours: SendingHours
    left: int


def campaign_finish_estimate(
    *, account: Account, sender: Sender, leads: QuerySet[Lead], texted: int
) -> str:
    """How long sending `texted` of these leads takes and when it ends, in words.

    Sent at the sender's campaign lane pace, each lead only inside its sending
    hours, and no more a day than the sender's brand's cap; counted from now,
    in the account's time zone.
    """
    now = timezone.now()
    groups = _groups(account, leads, texted)
    if not groups:
        return ""
    rate = lane_per_second(
        rate=per_second(
            throughput=sender.throughput_per_second,
            per_minute_limit=sender.per_minute_limit,
            message_class=sender.message_class,
        ),
        reply_share_percent=sender.reply_share_percent,
        priority=False,
    )
    brand = sender.brand
    day_left = (
        brand_daily_limit(brand) - brand_sent_today(brand, now) if brand else None
    )
    finish, held, capped = _simulate(groups, rate, now, day_left, brand)
    if finish is None:
        return "more than two weeks"
    words = f"about {_duration(finish - now)}; finishes {_when(finish, account, now)}"
    reasons = [
        reason
        for reason, applies in (
            ("quiet hours", held),
            ("the brand's daily cap", capped),
        )
        if applies
    ]
    return f"{words} because of {' and '.join(reasons)}" if reasons else words


def _groups(account: Account, leads: QuerySet[Lead], texted: int) -> list[_Group]:
    """The leads in groups that share sending hours: one grouped read, then a dict per prefix."""
    rows = list(
        leads.annotate(prefix=Substr("phone", 1, PREFIX_CHARS))
        .values("prefix", "time_zone")
        .annotate(n=Count("id"), sample=Min("phone"))
        .order_by()
    )
    total = sum(row["n"] for row in rows)
    window = (account.send_window_start, account.send_window_end)
    by_hours: dict[SendingHours, int] = {}
    for row in rows:
        hours = sending_hours(
            window=window,
            phone=row["sample"],
            recipient_zone=row["time_zone"],
            fallback_zone=account.time_zone,
        )
        by_hours[hours] = by_hours.get(hours, 0) + row["n"]
    # Only `texted` of them get a message: shared out in proportion.
    groups = [_Group(hours, round(n * texted / total)) for hours, n in by_hours.items()]
    return [group for group in groups if group.left]


def _simulate(
    groups: list[_Group],
    rate: float,
    now: datetime,
    day_left: int | None,
    brand: Brand | None,
) -> tuple[datetime | None, bool, bool]:
    """Send minute by minute; skip straight to the next opening while all are closed."""
    quiet = settings.PORTAL_QUIET_HOURS
    at, held, capped = now, False, False
    carry = 0.0
    while any(g.left for g in groups):
        if at - now > HORIZON:
            return None, held, capped
        waiting = [g for g in groups if g.left]
        open_now = [g for g in waiting if not quiet or g.hours.is_open(at)]
        if not open_now:
            held = True
            at = min(g.hours.release_at(at) for g in waiting)
            continue
        if len(open_now) < len(waiting):
            held = True
        if day_left is not None and day_left <= 0:
            capped = True
            at = _next_brand_day(at)
            day_left = brand_daily_limit(brand)
            continue
        carry += rate * STEP.total_seconds()
        room = int(carry)
        if day_left is not None:
            room = min(room, day_left)
        sent = 0
        for group in open_now:
            take = min(group.left, room - sent)
            group.left -= take
            sent += take
        carry -= sent
        if day_left is not None:
            day_left -= sent
        if not any(g.left for g in groups):
            return at + timedelta(seconds=sent / rate), held, capped
        at += STEP
    return at, held, capped


def _next_brand_day(at: datetime) -> datetime:
    local = at.astimezone(BRAND_DAY_ZONE) + timedelta(days=1)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _duration(span: timedelta) -> str:
    minutes = max(1, round(span.total_seconds() / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts.append(f"{minutes} min" if minutes or not (days or hours) else "")
    return " ".join(part for part in parts if part)


def _when(at: datetime, account: Account, now: datetime) -> str:
    """'today 14:05', 'tomorrow 09:40' or 'Thu 12 Jun 09:40', in the account's zone."""
    zone = ZoneInfo(account.time_zone)
    local, today = at.astimezone(zone), now.astimezone(zone).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return f"today {clock}"
    if local.date() == today + timedelta(days=1):
        return f"tomorrow {clock}"
    return f"{local.strftime('%a')} {local.day} {local.strftime('%b')} {clock}"
