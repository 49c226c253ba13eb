"""Throughput: each sender's rate limits, shared by every worker, with a lane for replies.

Three limits, as data: texts a second per sender (Sender.throughput_per_second),
texts a minute per 10DLC campaign (the sender's AT&T message class, or its own
figure) and texts a day per 10DLC brand (T-Mobile's cap for the brand's tier).
The first two become one even pace per sender, reserved under the sender's row
lock; the third is a count per brand and day under the brand's row lock.

Replies and one-off messages (no campaign) have a lane of their own: a share
of the sender's pace (Sender.reply_share_percent) that campaigns never use, so
a reply never waits behind a campaign's reserved slots. The two lanes together
never exceed the sender's limits. Their tasks go to their own Celery queue
(PRIORITY_QUEUE) too, so they do not wait behind a campaign's batches either.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils import timezone

from messaging.models import Brand, Message, Sender

# AT&T's 10DLC texts a minute (TPM) per campaign, by message class.
MESSAGE_CLASS_PER_MINUTE = {
    "A": 4500,
    "B": 4500,
    "C": 2400,
    "D": 2400,
    "E": 240,
    "F": 240,
    "T": 75,
}
# T-Mobile's 10DLC daily caps per brand, by vetting score.
TIER_PER_DAY = {
    Brand.Tier.TOP: 200_000,
    Brand.Tier.HIGH: 40_000,
    Brand.Tier.MIDDLE: 10_000,
    Brand.Tier.LOW: 2_000,
}
# T-Mobile counts a brand's day until midnight Pacific time.
BRAND_DAY_ZONE = ZoneInfo("America/Los_Angeles")
PRIORITY_QUEUE = "dispatch-priority"
# What the claim reads of each message's sender to pace it (messages_claim_read).
SENDER_LIMITS = {
    "throughput": F("sender__throughput_per_second"),
    "per_minute_limit": F("sender__per_minute_limit"),
    "message_class": F("sender__message_class"),
    "reply_share_percent": F("sender__reply_share_percent"),
    "brand_id": F("sender__brand_id"),
}


def per_second(
    *, throughput: int, per_minute_limit: int | None, message_class: str
) -> float:
    """A sender's texts a second on both lanes: the slower of its limits."""
    per_minute = per_minute_limit or MESSAGE_CLASS_PER_MINUTE.get(message_class)
    return min(throughput, per_minute / 60) if per_minute else float(throughput)


def is_priority(message: Message) -> bool:
    """Replies and one-off messages go before campaigns."""
    return message.campaign_id is None


def lane_per_second(*, rate: float, reply_share_percent: int, priority: bool) -> float:
    share = reply_share_percent / 100
    return rate * (share if priority else 1 - share)


def claimed_lane_per_second(message: Message) -> float:
    """The pace of a claimed message's lane, from what the claim read (SENDER_LIMITS)."""
    rate = per_second(
        throughput=message.throughput,
        per_minute_limit=message.per_minute_limit,
        message_class=message.message_class,
    )
    return lane_per_second(
        rate=rate,
        reply_share_percent=message.reply_share_percent,
        priority=is_priority(message),
    )


def lane_of(message: Message) -> tuple[int, bool]:
    return (message.sender_id, is_priority(message))


@dataclass(frozen=True)
class Slots:
    """A lane's reserved send times: the first at start, then one every interval seconds."""

    start: datetime
    interval: float

    def at(self, position: int) -> datetime:
        return self.start + timedelta(seconds=position * self.interval)


def slots_reserve(messages: list[Message]) -> dict[tuple[int, bool], Slots]:
    """Reserve the messages' send slots on their senders' lanes, shared by all workers.

    Called in the claim's transaction: each sender's row stays locked until
    the claim commits, taken after the account's, as every path takes them.
    Gives each message its sender (one instance per sender) and returns each
    lane's slots.
    """
    lanes = Counter(lane_of(m) for m in messages)
    slots: dict[tuple[int, bool], Slots] = {}
    senders = {}
    for sender_id in sorted({sender_id for sender_id, _ in lanes}):
        sender = Sender.objects.select_for_update().get(pk=sender_id)
        senders[sender_id] = sender
        now = timezone.now()
        rate = per_second(
            throughput=sender.throughput_per_second,
            per_minute_limit=sender.per_minute_limit,
            message_class=sender.message_class,
        )
        changed = []
        for priority, field in (
            (False, "next_send_at"),
            (True, "next_priority_send_at"),
        ):
            count = lanes.get((sender_id, priority))
            if not count:
                continue
            start = max(getattr(sender, field) or now, now)
            interval = 1 / lane_per_second(
                rate=rate,
                reply_share_percent=sender.reply_share_percent,
                priority=priority,
            )
            slots[(sender_id, priority)] = Slots(start, interval)
            setattr(sender, field, start + timedelta(seconds=count * interval))
            changed.append(field)
        sender.save(update_fields=changed)
    for message in messages:
        message.sender = senders[message.sender_id]
    return slots


def daily_limits_admit(
    messages: list[Message], now: datetime
) -> tuple[list[Message], list[Message], datetime]:
    """Split the claimed messages into those their brands' daily caps admit and the rest.

    Each brand's count for the day moves under its row lock (taken in id
    order, before the accounts' and senders'), so workers share the cap.
    Replies and one-off messages are admitted first. Returns the admitted,
    the capped, and when the brands' next day starts. A message admitted and
    then refused for credit still counts: the cap is never exceeded.
    """
    day = now.astimezone(BRAND_DAY_ZONE).date()
    next_day = (
        (now.astimezone(BRAND_DAY_ZONE) + timedelta(days=1))
        .replace(hour=0, minute=0, second=0, microsecond=0)
        .astimezone(now.tzinfo)
    )
    brand_ids = sorted({m.brand_id for m in messages if m.brand_id})
    if not brand_ids:
        return messages, [], next_day
    capped: set[int] = set()
    for brand in (
        Brand.objects.filter(pk__in=brand_ids).order_by("pk").select_for_update()
    ):
        used = brand_sent_today(brand, now)
        wanted = sorted(
            (m for m in messages if m.brand_id == brand.pk),
            key=lambda m: not is_priority(m),
        )
        room = max(brand_daily_limit(brand) - used, 0)
        capped.update(m.pk for m in wanted[room:])
        Brand.objects.filter(pk=brand.pk).update(
            day=day, sent_on_day=used + min(room, len(wanted))
        )
    admitted = [m for m in messages if m.pk not in capped]
    return admitted, [m for m in messages if m.pk in capped], next_day


def brand_sent_today(brand: Brand, now: datetime) -> int:
    """What the brand has used of today's cap."""
    return (
        brand.sent_on_day if brand.day == now.astimezone(BRAND_DAY_ZONE).date() else 0
    )


def brand_daily_limit(brand: Brand) -> int:
    return brand.daily_limit or TIER_PER_DAY[brand.tier]
