"""Periodic sweeps over messages: expire the stale queue, mark silent sends unknown."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from messaging.catalog import portal_error
from messaging.models import ErrorCode, Message, MessageEvent
from messaging.services import message_events_record_moves
from messaging.statuses import Status, is_final, sources_for
from portal.models import Account

# One UPDATE touches at most this many rows, so a sweep never holds locks on a
# whole table and a crash loses at most one batch of work (redone next run).
SWEEP_BATCH_SIZE = 1000


def _sweep(
    candidates: QuerySet[Message], status: Status, error: ErrorCode, now: datetime
) -> int:
    """Move candidates to status in batches: lock, guarded UPDATE, one event per message.

    skip_locked lets two sweeps run at once without touching the same rows;
    the guard in the UPDATE keeps a receipt that got there first.
    """
    moved = 0
    while True:
        with transaction.atomic():
            ids = list(
                candidates.filter(status__in=sources_for(status))
                .order_by("pk")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("pk", "status")[:SWEEP_BATCH_SIZE]
            )
            if not ids:
                return moved
            # Stamped per batch: a change feed must not see a late batch
            # carry the time the sweep began (portal/api/feed.py).
            fields = {"status": status, "error": error, "updated_at": timezone.now()}
            if is_final(status):
                fields["final_at"] = now
            Message.objects.filter(pk__in=[pk for pk, _ in ids]).update(**fields)
            message_events_record_moves(
                moves=ids,
                status=status,
                kind=MessageEvent.Kind.SWEEP,
                now=now,
                error=error,
            )
            moved += len(ids)


def messages_expire(*, now: datetime | None = None) -> int:
    """Expire messages still queued past their validity period; return how many."""
    now = now or timezone.now()
    stale = Message.objects.filter(status=Status.QUEUED, expires_at__lt=now)
    return _sweep(stale, Status.EXPIRED, portal_error("expired"), now)


def messages_mark_unknown(*, now: datetime | None = None) -> int:
    """Mark sent messages with no receipt after the account's wait as unknown."""
    now = now or timezone.now()
    error = portal_error("no_receipt")
    moved = 0
    waits = Account.objects.values_list("receipt_wait_hours", flat=True).distinct()
    for hours in waits:
        silent = Message.objects.filter(
            status=Status.SENT,
            account__receipt_wait_hours=hours,
            sent_at__lt=now
            - timedelta(hours=hours or settings.PORTAL_RECEIPT_WAIT_HOURS),
        )
        moved += _sweep(silent, Status.UNKNOWN, error, now)
    return moved
