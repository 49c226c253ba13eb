"""Dispatch: claim queued messages, pace them per sender, hand each to its provider once."""

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from messaging.catalog import error_get, portal_error
from messaging.credentials import credentials_get
from messaging.holds import daily_limit_hold, quiet_hours_hold
from messaging.models import Message, MessageEvent, OptOut
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
from messaging.throughput import (
    PRIORITY_QUEUE,
    SENDER_LIMITS,
    Slots,
    claimed_lane_per_second,
    lane_of,
    slots_reserve,
)
from portal.bulk import chunked
from portal.models import Account
from portal.publishing import task_publish_on_commit
from portal.services import InsufficientCredit, credit_charge, credit_refund

logger = logging.getLogger(__name__)

# Ids per send task: a batch's queries and tasks are shared by its messages. Run
# back to back (bench/pipeline.py), batches of 1000 took about 15% less worker CPU
# per message than 500, and 500 about half as much as 100.
SEND_BATCH_SIZE = 1000
# Seconds of pacing one task may spend: half its soft time limit. A slow sender's
# share of a batch beyond this goes back to the queue as a task of its own.
SEND_WINDOW_SECONDS = 120
MAX_SEND_TRIES = 3  # provider calls per message for temporary failures
RETRY_BACKOFF_SECONDS = (30, 120)  # wait before the 2nd and 3rd call
# A sending worker renews its claims this often, while it paces and sends;
# a claim not renewed for STUCK_AFTER lost its worker, and the stuck sweep
# (every 30 s) settles it. The longest gap between renewals is one renewal
# period plus one provider call (its HTTP timeout is 13 s at most).
CLAIM_RENEW_EVERY = timedelta(seconds=15)
STUCK_AFTER = timedelta(minutes=1)
# A claimed message, whose catalog its provider's codes are in, and the
# provider's answer to its send (None: not sent, try again later).
Answer = tuple[Message, str, SendResult | None]
# What sending a claimed message reads: loading whole rows costs more than the claim.
CLAIMED_FIELDS = (
    "id",
    "uuid",
    "account_id",
    "campaign_id",
    "sender_id",
    "phone",
    "body",
    "segments",
    "status",
    "send_tries",
    "expires_at",
    "next_attempt_at",
    "created_at",
    "recipient_zone",
    "quiet_hours",
)


def messages_enqueue(
    *, message_ids: Sequence[int], countdown: int = 0, priority: bool = False
) -> None:
    """Schedule sending once the current transaction commits, one task per batch.

    Replies and one-off messages (priority) go to their own queue, ahead of
    campaigns' batches (messaging/throughput.py). With the broker down the
    messages stay queued in the database, and the requeue sweep sends them
    once it is back.
    """
    from messaging.tasks import send_message_batch_task

    queue = PRIORITY_QUEUE if priority else None
    for batch in chunked(message_ids, SEND_BATCH_SIZE):
        task_publish_on_commit(
            send_message_batch_task, batch, countdown=countdown, queue=queue
        )


def _claim(
    message_ids: Sequence[int], now: datetime
) -> tuple[list[Message], dict[tuple[int, bool], Slots]]:
    """Claim the due queued messages, pay for them and reserve their send slots, at once.

    Only the claimer may hand a message over. Claim, charge and pacing share
    one transaction, and claim and charge one UPDATE (each UPDATE of a message
    rewrites all its index entries): a claimed message is a paid one. A
    message whose number opted out after it was queued is rejected instead
    (see _blocked). A message outside its recipient's quiet hours, or over
    its brand's cap for the day, is held (messaging/holds.py). Returns the
    claimed messages and each sender lane's slots.
    """
    with transaction.atomic():
        rows = quiet_hours_hold(_lock_due(message_ids, now), now)
        rows, later = _within_window(rows)
        messages_enqueue(message_ids=later)
        rows = daily_limit_hold(rows, now)
        blocked = {m.pk for m in rows if _blocked(m)}
        paid, unpaid = _charge(
            [(m.pk, m.account_id, m.segments) for m in rows if m.pk not in blocked]
        )
        # By id alone, as the lock: these rows are locked and were seen queued.
        Message.objects.filter(pk__in=paid).update(
            status=Status.SENDING,
            billed=True,
            claimed_at=now,
            updated_at=now,
            send_tries=F("send_tries") + 1,
            hold=Message.Hold.NONE,
        )
        message_events_record_moves(
            moves=[(pk, Status.QUEUED) for pk in paid],
            status=Status.SENDING,
            kind=MessageEvent.Kind.SEND,
            now=now,
        )
        _reject(sorted(blocked), "opted_out", now)
        _reject(unpaid, "insufficient_credit", now)
        paid_ids = set(paid)
        claimed = [m for m in rows if m.pk in paid_ids]
        for message in claimed:
            message.status = Status.SENDING
            message.send_tries += 1
        slots = slots_reserve(claimed)
    return claimed, slots


def messages_claim_read(*, message_ids: Sequence[int]) -> QuerySet[Message]:
    """What a claim reads of message_ids, found by primary key alone, in id order.

    No condition on status, expiry or next attempt: PostgreSQL would read an
    index on those for it whenever its statistics say few messages are queued
    (right after ANALYZE, before a big campaign fills the queue), and then
    read every queued message for each batch. By id alone only the primary
    key can serve, whatever the statistics; the claim checks the rows it locked.
    """
    opted_out_at = OptOut.objects.filter(
        account_id=OuterRef("account_id"), phone=OuterRef("phone")
    ).values("created_at")
    return (
        Message.objects.filter(pk__in=message_ids)
        .annotate(
            opted_out_at=Subquery(opted_out_at),
            **SENDER_LIMITS,
        )
        .only(*CLAIMED_FIELDS)
        .order_by("pk")
    )


def _lock_due(message_ids: Sequence[int], now: datetime) -> list[Message]:
    """Lock the messages among message_ids that are queued and due; others are left alone.

    SKIP LOCKED: a message another worker is claiming is that worker's. A
    locked row is read as it is now (a change committed meanwhile included),
    so its status is checked here, and the lock keeps it until the claim ends.
    """
    rows = messages_claim_read(message_ids=message_ids).select_for_update(
        skip_locked=True, of=("self",)
    )
    return [m for m in rows if _due(m, now)]


def _due(message: Message, now: datetime) -> bool:
    return (
        message.status == Status.QUEUED
        and message.expires_at is not None
        and message.expires_at > now
        and not (message.next_attempt_at and message.next_attempt_at > now)
    )


def _blocked(message: Message) -> bool:
    """Say whether the number opted out since the message was queued.

    Campaign messages are checked whenever they were created (a resend comes
    after the STOP). Other messages only if created before the opt-out: the
    reply confirming a STOP, or answering HELP, is written after it, while a
    one-off message to an opted-out number is refused before it is created.
    """
    if message.opted_out_at is None:
        return False
    return bool(message.campaign_id) or message.created_at < message.opted_out_at


def _within_window(rows: list[Message]) -> tuple[list[Message], list[int]]:
    """Keep what each sender lane sends in SEND_WINDOW_SECONDS at its pace; return the rest's ids.

    Otherwise a slow sender's batch would outlast the task's time limit, and a
    send cut short ends unknown: it may or may not have been handed over.
    """
    room: dict[tuple[int, bool], float] = {}
    kept, later = [], []
    for message in rows:
        lane = lane_of(message)
        if lane not in room:
            room[lane] = claimed_lane_per_second(message) * SEND_WINDOW_SECONDS
        if room[lane] > 0:
            room[lane] -= 1
            kept.append(message)
        else:
            later.append(message.pk)
    return kept, later


def _reject(message_ids: list[int], error_code: str, now: datetime) -> None:
    """Refuse claimed queued messages before any provider sees them: never sent, never billed.

    The claim holds their locks and saw them queued: found by id alone (see
    messages_claim_read).
    """
    if not message_ids:
        return
    error = portal_error(error_code)
    Message.objects.filter(pk__in=message_ids).update(
        status=Status.REJECTED, error=error, final_at=now, updated_at=now
    )
    message_events_record_moves(
        moves=[(pk, Status.QUEUED) for pk in message_ids],
        status=Status.REJECTED,
        kind=MessageEvent.Kind.PORTAL,
        now=now,
        error=error,
    )


def _charge(rows: list[tuple[int, int, int]]) -> tuple[list[int], list[int]]:
    """Charge each account for its (id, account, segments) rows; split the ids into paid and not.

    One guarded UPDATE per account. When the balance cannot cover the whole
    batch, the messages that fit the balance are charged together, so the last
    segments are still used; a charge lost to another worker re-reads it.
    """
    paid: list[int] = []
    unpaid: list[int] = []
    by_account: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, account_id, segments in rows:
        by_account[account_id].append((pk, segments))
    for account_id, group in by_account.items():
        affordable = group
        while affordable:
            try:
                credit_charge(
                    account_id=account_id,
                    segments=sum(segments for _, segments in affordable),
                    note="Sent",
                )
                break
            except InsufficientCredit:
                balance = Account.objects.values_list("credit_balance", flat=True).get(
                    pk=account_id
                )
                affordable = _fitting(affordable, balance)
        paid += [pk for pk, _ in affordable]
        unpaid += [pk for pk, _ in group[len(affordable) :]]
    return paid, unpaid


def _fitting(group: list[tuple[int, int]], balance: int) -> list[tuple[int, int]]:
    """The longest run of (id, segments), in order, whose segments the balance covers."""
    total = 0
    for count, (_, segments) in enumerate(group):
        total += segments
        if total > balance:
            return group[:count]
    return group


class ClaimLease:
    """A worker's hold on the messages it claimed, renewed while it lives.

    Each renewal moves claimed_at forward only where it is still the value this
    worker wrote: a message the stuck sweep settled meanwhile (the worker was
    frozen past STUCK_AFTER) is dropped, and the worker does not send it.
    """

    def __init__(self, messages: list[Message], claimed_at: datetime) -> None:
        self.held = {message.pk for message in messages}
        self.renewed_at = claimed_at

    def renew_if_due(self) -> None:
        """Move the held claims' claimed_at to now, every CLAIM_RENEW_EVERY."""
        now = timezone.now()
        if now - self.renewed_at < CLAIM_RENEW_EVERY:
            return
        renewed = Message.objects.filter(
            pk__in=self.held, status=Status.SENDING, claimed_at=self.renewed_at
        ).update(claimed_at=now)
        if renewed < len(self.held):
            self.held = set(
                Message.objects.filter(
                    pk__in=self.held, status=Status.SENDING, claimed_at=now
                ).values_list("pk", flat=True)
            )
        self.renewed_at = now

    def sleep(self, seconds: float) -> None:
        """Wait that long, renewing the claims on time meanwhile."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, CLAIM_RENEW_EVERY.total_seconds()))
            self.renew_if_due()

    def holds(self, message: Message) -> bool:
        """Renew if due; say whether the message is still this worker's to send."""
        self.renew_if_due()
        return message.pk in self.held


def messages_send(*, message_ids: Sequence[int]) -> int:
    """Send the still-queued messages among message_ids; return how many providers accepted."""
    now = timezone.now()
    claimed, slots = _claim(message_ids, now)
    if not claimed:
        return 0
    lease = ClaimLease(claimed, now)
    answers: list[Answer] = []
    # Each provider's batch stays open until the answers are stored, so what it
    # pooled (the simulator's receipts) follows the provider ids into the database.
    with ExitStack() as batches:
        for lane, group in _by_lane(claimed).items():
            sender = group[0].sender
            provider = provider_for(sender.provider)
            batches.enter_context(provider.sending())
            credentials = credentials_get(sender)
            for position, message in enumerate(group):
                wait = (slots[lane].at(position) - timezone.now()).total_seconds()
                if wait > 0:
                    lease.sleep(wait)
                if not lease.holds(message):
                    continue  # the stuck sweep settled it: another worker's now
                try:
                    result = provider.send(
                        credentials=credentials, outgoing=_outgoing(message)
                    )
                except ProviderUnavailable:
                    logger.warning(
                        "messaging.send.unavailable", extra={"message_id": message.pk}
                    )
                    result = None
                answers.append((message, provider.error_source, result))
        accepted = _answers_store(answers, now, retry_reason="provider unavailable")
    messages_claim_parked_receipts(message_ids=accepted)
    return len(accepted)


def _by_lane(messages: list[Message]) -> dict[tuple[int, bool], list[Message]]:
    by_lane: dict[tuple[int, bool], list[Message]] = defaultdict(list)
    for message in messages:
        by_lane[lane_of(message)].append(message)
    return by_lane


def _by_sender(messages: list[Message]) -> dict[int, list[Message]]:
    by_sender: dict[int, list[Message]] = defaultdict(list)
    for message in messages:
        by_sender[message.sender_id].append(message)
    return by_sender


def _answers_store(
    answers: list[Answer],
    now: datetime,
    *,
    retry_reason: str,
    backoff: bool = True,
    updates: Sequence[tuple[int, StatusUpdate]] = (),
) -> list[int]:
    """Store the providers' answers at once; a None answer is tried again.

    Returns the ids of the messages the providers accepted.
    """
    updates = list(updates)
    accepted: list[int] = []
    retry: list[Message] = []
    for message, error_source, result in answers:
        if result is None:
            retry.append(message)
            continue
        if result.status == Status.SENT:
            accepted.append(message.pk)
        updates.append((message.pk, _send_update(error_source, result)))
    with transaction.atomic():
        messages_apply_statuses(updates=updates)
        _retry_or_fail(retry, now, reason=retry_reason, backoff=backoff)
    return accepted


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
        provider_message_id=result.provider_message_id,
    )


def _retry_or_fail(
    messages: list[Message], now: datetime, *, reason: str, backoff: bool
) -> None:
    """Requeue unsent messages, after a backoff if asked; fail those out of tries or validity."""
    retry, give_up = defaultdict(list), []
    for message in messages:
        tries = message.send_tries
        wait = RETRY_BACKOFF_SECONDS[min(tries, 2) - 1] if backoff else 0
        due = now + timedelta(seconds=wait)
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
            payload={"retry_at": due.isoformat(), "reason": reason},
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
    (mark it sent). Without one, ask the provider what it got, by message uuid:
    a send it holds takes the provider's answer, as if the worker had stored it,
    and one it never got goes back to the queue. A provider that cannot say
    leaves the message unknown: a second send could text the person twice.
    """
    now = now or timezone.now()
    interrupted = StatusUpdate(
        status=Status.UNKNOWN,
        kind=MessageEvent.Kind.SWEEP,
        error=portal_error("send_interrupted"),
    )
    updates: list[tuple[int, StatusUpdate]] = []
    answers: list[Answer] = []
    # The rows stay locked until settled: a second sweep at once skips them
    # rather than resend or refund them again.
    with ExitStack() as batches, transaction.atomic():
        stuck = list(
            Message.objects.filter(
                status=Status.SENDING, claimed_at__lt=now - STUCK_AFTER
            )
            .select_related("sender")
            .select_for_update(skip_locked=True, of=("self",))
        )
        unsure = [message for message in stuck if not message.provider_message_id]
        updates += [
            (message.pk, StatusUpdate(status=Status.SENT, kind=MessageEvent.Kind.SWEEP))
            for message in stuck
            if message.provider_message_id
        ]
        for group in _by_sender(unsure).values():
            sender = group[0].sender
            provider = provider_for(sender.provider)
            batches.enter_context(provider.sending())
            received = provider.sends_received(
                credentials=credentials_get(sender),
                outgoing=[_outgoing(message) for message in group],
            )
            for message in group:
                if received is None:
                    updates.append((message.pk, interrupted))
                else:
                    answer = received.get(str(message.uuid))
                    answers.append((message, provider.error_source, answer))
        # Not the provider's fault, and a minute late already: no backoff.
        accepted = _answers_store(
            answers,
            now,
            retry_reason="never reached the provider",
            backoff=False,
            updates=updates,
        )
    messages_claim_parked_receipts(message_ids=accepted)
    return len(stuck)


def messages_requeue_due(*, now: datetime | None = None) -> int:
    """Enqueue queued messages whose task is due or was lost (a broker restart, a crash).

    Held messages (messaging/holds.py) go once their release time has passed.

    Claims are guarded, so a message enqueued twice is still sent once.
    """
    now = now or timezone.now()
    due = list(
        Message.objects.filter(status=Status.QUEUED, expires_at__gt=now)
        .exclude(next_attempt_at__gt=now)
        .filter(updated_at__lt=now - timedelta(minutes=2))
        .values_list("pk", "campaign_id")[:50_000]
    )
    for priority in (True, False):
        messages_enqueue(
            message_ids=[pk for pk, campaign in due if (campaign is None) == priority],
            priority=priority,
        )
    return len(due)


def message_validity_end(
    *, account: Account, hours: int | None, now: datetime
) -> datetime:
    """When a message created now expires: the campaign's hours, else the account's."""
    return now + timedelta(hours=hours or account.validity)
