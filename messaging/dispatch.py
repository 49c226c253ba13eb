"""Dispatch: claim queued messages, pace them per sender, hand each to its provider once."""

import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from messaging.catalog import error_get, portal_error
from messaging.credentials import credentials_get
from messaging.models import Message, MessageEvent, Sender
from messaging.providers import provider_for
from messaging.providers.base import (
    Outgoing,
    ProviderUnavailable,
    SendResult,
    webhook_url,
)
from messaging.services import (
    StatusUpdate,
    message_events_record_moves,
    messages_apply_statuses,
    messages_claim_parked_receipts,
)
from messaging.statuses import Status
from portal.models import Account
from portal.services import InsufficientCredit, credit_charge, credit_refund

logger = logging.getLogger(__name__)

SEND_BATCH_SIZE = 100  # one task per 100 ids: ~10x the throughput of a task per SMS
MAX_SEND_TRIES = 3  # provider calls per message for temporary failures
RETRY_BACKOFF_SECONDS = (30, 120)  # wait before the 2nd and 3rd call
STUCK_AFTER = timedelta(minutes=10)  # a claim older than this lost its worker

T = TypeVar("T")


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def messages_enqueue(*, message_ids: Sequence[int], countdown: int = 0) -> None:
    """Schedule sending once the current transaction commits, one task per batch."""
    from messaging.tasks import send_message_batch_task

    ids = list(message_ids)

    def enqueue() -> None:
        for batch in chunked(ids, SEND_BATCH_SIZE):
            send_message_batch_task.apply_async(args=[list(batch)], countdown=countdown)

    transaction.on_commit(enqueue)


def _claim(message_ids: Sequence[int], now: datetime) -> list[Message]:
    """Move due queued messages to sending; only the claimer may hand them over."""
    with transaction.atomic():
        ids = list(
            Message.objects.filter(
                pk__in=message_ids, status=Status.QUEUED, expires_at__gt=now
            )
            .exclude(next_attempt_at__gt=now)
            .order_by("pk")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", flat=True)
        )
        Message.objects.filter(pk__in=ids, status=Status.QUEUED).update(
            status=Status.SENDING,
            claimed_at=now,
            updated_at=now,
            send_tries=F("send_tries") + 1,
        )
        message_events_record_moves(
            moves=[(pk, Status.QUEUED) for pk in ids],
            status=Status.SENDING,
            kind=MessageEvent.Kind.SEND,
            now=now,
        )
    return list(
        Message.objects.filter(pk__in=ids, status=Status.SENDING)
        .select_related("sender", "account")
        .order_by("pk")
    )


def _charge(messages: list[Message]) -> tuple[list[Message], list[Message]]:
    """Charge each account for its messages; split into paid and unpayable.

    One guarded UPDATE per account. When the balance cannot cover the whole
    batch, the messages that fit the balance are charged together, so the last
    segments are still used; a charge lost to another worker re-reads it.
    """
    paid, unpaid = [], []
    by_account: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_account[message.account_id].append(message)
    for account_id, group in by_account.items():
        affordable = group
        while affordable:
            try:
                credit_charge(
                    account_id=account_id,
                    segments=sum(m.segments for m in affordable),
                    note="Sent",
                )
                break
            except InsufficientCredit:
                balance = Account.objects.values_list("credit_balance", flat=True).get(
                    pk=account_id
                )
                affordable = _fitting(affordable, balance)
        paid += affordable
        unpaid += group[len(affordable) :]
    Message.objects.filter(pk__in=[m.pk for m in paid]).update(billed=True)
    return paid, unpaid


def _fitting(messages: list[Message], balance: int) -> list[Message]:
    """The longest run of messages, in order, whose segments the balance covers."""
    total = 0
    for count, message in enumerate(messages):
        total += message.segments
        if total > balance:
            return messages[:count]
    return messages


def _pace(sender: Sender, count: int) -> datetime:
    """Reserve count send slots at the sender's rate, shared by all workers; return the start."""
    with transaction.atomic():
        locked = Sender.objects.select_for_update().get(pk=sender.pk)
        now = timezone.now()
        start = max(locked.next_send_at or now, now)
        locked.next_send_at = start + timedelta(
            seconds=count / locked.throughput_per_second
        )
        locked.save(update_fields=["next_send_at"])
    return start


def messages_send(*, message_ids: Sequence[int]) -> int:
    """Send the still-queued messages among message_ids; return how many providers accepted."""
    now = timezone.now()
    claimed = _claim(message_ids, now)
    if not claimed:
        return 0
    paid, unpaid = _charge(claimed)
    updates: list[tuple[int, StatusUpdate]] = []
    if unpaid:
        no_credit = StatusUpdate(
            status=Status.REJECTED,
            kind=MessageEvent.Kind.PORTAL,
            error=portal_error("insufficient_credit"),
        )
        updates += [(m.pk, no_credit) for m in unpaid]

    accepted: list[Message] = []
    retry: list[Message] = []
    by_sender: dict[int, list[Message]] = defaultdict(list)
    for message in paid:
        by_sender[message.sender_id].append(message)
    for group in by_sender.values():
        sender = group[0].sender
        provider = provider_for(sender.provider)
        credentials = credentials_get(sender)
        start = _pace(sender, len(group))
        interval = 1 / sender.throughput_per_second
        for position, message in enumerate(group):
            wait = (
                start + timedelta(seconds=position * interval) - timezone.now()
            ).total_seconds()
            if wait > 0:
                time.sleep(wait)
            try:
                result = provider.send(
                    credentials=credentials, outgoing=_outgoing(message)
                )
            except ProviderUnavailable:
                logger.warning(
                    "messaging.send.unavailable", extra={"message_id": message.pk}
                )
                retry.append(message)
                continue
            if result.status == Status.SENT:
                message.provider_message_id = result.provider_message_id
                message.provider = sender.provider
                accepted.append(message)
            updates.append((message.pk, _send_update(provider.error_source, result)))

    with transaction.atomic():
        Message.objects.bulk_update(accepted, ["provider_message_id", "provider"])
        messages_apply_statuses(updates=updates)
        _retry_or_fail(retry, now)
    messages_claim_parked_receipts(message_ids=[m.pk for m in accepted])
    return len(accepted)


def _outgoing(message: Message) -> Outgoing:
    validity = None
    if message.expires_at:
        validity = max(int((message.expires_at - timezone.now()).total_seconds()), 1)
    return Outgoing(
        message_uuid=str(message.uuid),
        to=message.phone,
        from_number=message.sender.phone_number,
        body=message.body,
        status_callback_url=webhook_url(
            message.sender.provider,
            str(message.sender.uuid),
            message_uuid=str(message.uuid),
        ),
        validity_seconds=validity,
    )


def _send_update(error_source: str, result: SendResult) -> StatusUpdate:
    error = None
    if result.error_code:
        error = error_get(
            provider=error_source, code=result.error_code, status=result.status
        )
    return StatusUpdate(
        status=result.status,
        kind=MessageEvent.Kind.SEND,
        provider_status=result.provider_status,
        error=error,
        payload=result.payload,
    )


def _retry_or_fail(messages: list[Message], now: datetime) -> None:
    """Requeue temporary failures with backoff; fail those out of tries or validity."""
    retry, give_up = defaultdict(list), []
    for message in messages:
        tries = message.send_tries
        due = now + timedelta(seconds=RETRY_BACKOFF_SECONDS[min(tries, 2) - 1])
        if tries >= MAX_SEND_TRIES or (
            message.expires_at and due >= message.expires_at
        ):
            give_up.append(message.pk)
        else:
            retry[due].append(message.pk)
    # Not sent, so not paid for: the next claim charges again.
    refunds: dict[int, int] = defaultdict(int)
    for message in messages:
        if message.pk not in give_up:
            refunds[message.account_id] += message.segments
    for account_id, segments in refunds.items():
        credit_refund(
            account_id=account_id, segments=segments, note="Provider unavailable"
        )
    for due, ids in retry.items():
        Message.objects.filter(pk__in=ids, status=Status.SENDING).update(
            status=Status.QUEUED, next_attempt_at=due, billed=False, updated_at=now
        )
        message_events_record_moves(
            moves=[(pk, Status.SENDING) for pk in ids],
            status=Status.QUEUED,
            kind=MessageEvent.Kind.SEND,
            now=now,
            payload={"retry_at": due.isoformat(), "reason": "provider unavailable"},
        )
        delay = int((due - now).total_seconds()) + 1
        messages_enqueue(message_ids=ids, countdown=delay)
    if give_up:
        unavailable = StatusUpdate(
            status=Status.FAILED,
            kind=MessageEvent.Kind.SEND,
            error=portal_error("provider_unavailable"),
        )
        messages_apply_statuses(updates=[(pk, unavailable) for pk in give_up])


def messages_release_stuck(*, now: datetime | None = None) -> int:
    """Settle messages a dead worker left in sending.

    A message with a provider id reached the provider: leave it for its receipts
    (mark it sent). Without one, the provider may or may not have it, and a
    second send could text the person twice: it becomes unknown, never resent.
    """
    now = now or timezone.now()
    stuck = Message.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - STUCK_AFTER
    )
    reached = list(
        stuck.filter(provider_message_id__isnull=False).values_list("pk", flat=True)
    )
    unsure = list(
        stuck.filter(provider_message_id__isnull=True).values_list("pk", flat=True)
    )
    interrupted = StatusUpdate(
        status=Status.UNKNOWN,
        kind=MessageEvent.Kind.SWEEP,
        error=portal_error("send_interrupted"),
    )
    with transaction.atomic():
        messages_apply_statuses(
            updates=[
                (pk, StatusUpdate(status=Status.SENT, kind=MessageEvent.Kind.SWEEP))
                for pk in reached
            ]
            + [(pk, interrupted) for pk in unsure]
        )
    return len(reached) + len(unsure)


def messages_requeue_due(*, now: datetime | None = None) -> int:
    """Enqueue queued messages whose task is due or was lost (a broker restart, a crash).

    Claims are guarded, so a message enqueued twice is still sent once.
    """
    now = now or timezone.now()
    due = list(
        Message.objects.filter(status=Status.QUEUED, expires_at__gt=now)
        .exclude(next_attempt_at__gt=now)
        .filter(updated_at__lt=now - timedelta(minutes=2))
        .values_list("pk", flat=True)[:50_000]
    )
    messages_enqueue(message_ids=due)
    return len(due)


def message_validity_end(
    *, account: Account, hours: int | None, now: datetime
) -> datetime:
    """When a message created now expires: the campaign's hours, else the account's."""
    return now + timedelta(hours=hours or account.validity)
