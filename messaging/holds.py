"""Holds: a claimed message that may not go yet stays queued until a release time.

A held message is not failed (ARCHITECTURE 10): it keeps `queued` inside
In-queue, with why it waits (Message.hold) and until when (next_attempt_at);
its validity moves with the hold, so it counts from the release. The claim
skips it until then, and the requeue sweep hands it to a worker once due.
"""

from collections import defaultdict
from datetime import datetime, time

from django.conf import settings
from django.db.models import F

from messaging.models import Message, MessageEvent
from messaging.quiet_hours import number_prefix, sending_hours
from messaging.services import message_events_record_moves
from messaging.statuses import Status
from messaging.throughput import daily_limits_admit
from portal.models import Account


def quiet_hours_hold(rows: list[Message], now: datetime) -> list[Message]:
    """Hold the claimed rows whose recipients' window is closed now; return the rest.

    One read of the accounts' windows per batch; a recipient's hours are
    worked out once per account, number prefix and lead zone in the batch.
    """
    subject = [m for m in rows if m.quiet_hours]
    if not subject or not settings.PORTAL_QUIET_HOURS:
        return rows
    accounts: dict[int, tuple[tuple[time, time], str]] = {
        pk: ((start, end), zone)
        for pk, start, end, zone in Account.objects.filter(
            pk__in={m.account_id for m in subject}
        ).values_list("pk", "send_window_start", "send_window_end", "time_zone")
    }
    releases: dict[tuple[int, str, str], datetime] = {}
    free, held = [], defaultdict(list)
    for message in rows:
        if not message.quiet_hours:
            free.append(message)
            continue
        key = (message.account_id, number_prefix(message.phone), message.recipient_zone)
        if key not in releases:
            window, zone = accounts[message.account_id]
            releases[key] = sending_hours(
                window=window,
                phone=message.phone,
                recipient_zone=message.recipient_zone,
                fallback_zone=zone,
            ).release_at(now)
        if releases[key] > now:
            held[releases[key]].append(message)
        else:
            free.append(message)
    _hold(held, Message.Hold.QUIET_HOURS, now)
    return free


def daily_limit_hold(rows: list[Message], now: datetime) -> list[Message]:
    """Hold the claimed rows over their brand's daily cap until the next day; return the rest."""
    admitted, capped, next_day = daily_limits_admit(rows, now)
    if capped:
        _hold({next_day: capped}, Message.Hold.DAILY_LIMIT, now)
    return admitted


def _hold(
    held: dict[datetime, list[Message]], reason: Message.Hold, now: datetime
) -> None:
    """Keep the messages queued until their release time, their validity moved as far.

    The claim holds their locks and saw them queued: found by id alone.
    """
    for release, messages in held.items():
        ids = [m.pk for m in messages]
        Message.objects.filter(pk__in=ids).update(
            hold=reason,
            next_attempt_at=release,
            expires_at=F("expires_at") + (release - now),
            updated_at=now,
        )
        message_events_record_moves(
            moves=[(pk, Status.QUEUED) for pk in ids],
            status=Status.QUEUED,
            kind=MessageEvent.Kind.PORTAL,
            now=now,
            payload={"hold": reason.value, "release_at": release.isoformat()},
        )
