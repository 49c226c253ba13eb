"""Status changes: the one service that moves messages through the status machine."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import CharField, F
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce
from django.utils import timezone

from messaging.hooks.outbox import MessageMove, hook_message_moves_emit
from messaging.models import ErrorCode, Message, MessageEvent, OptOutEvent, Sender
from messaging.optouts import opt_out_record
from messaging.statuses import Status, can_move, is_final
from portal.bulk import rows_insert
from portal.services import credit_refund

# Statuses that prove the provider took the message, so it has a sent time.
SHOWS_SENT = frozenset(
    {Status.SENT, Status.UNKNOWN, Status.DELIVERED, Status.UNDELIVERED}
)


@dataclass(frozen=True)
class StatusUpdate:
    """One receipt, sweep or portal decision about one message."""

    status: Status
    kind: str = MessageEvent.Kind.RECEIPT
    provider_status: str = ""
    error: ErrorCode | None = None
    occurred_at: datetime | None = None
    payload: dict = field(default_factory=dict)
    # A send result's id at the provider, stored in the same UPDATE as the status.
    provider_message_id: str | None = None


@dataclass(slots=True)
class _Locked:
    """What applying updates reads of a message it holds locked: lighter than a model."""

    id: int
    status: str
    billed: bool
    segments: int
    account_id: int
    phone: str
    provider: str


# Every column of an event row, in the order the writers below give them.
EVENT_FIELDS = (
    "message_id",
    "created_at",
    "kind",
    "provider",
    "provider_message_id",
    "from_status",
    "status",
    "provider_status",
    "error_id",
    "applied",
    "occurred_at",
    "payload",
)


@dataclass(frozen=True)
class Receipt:
    """A provider's status report, found by our message uuid or the provider's id."""

    provider: str
    provider_message_id: str
    update: StatusUpdate
    message_uuid: str | None = None
    # The sender whose webhook URL it arrived at; None for the simulator's
    # receipts, which its own task hands over in-process.
    sender: Sender | None = None


def messages_apply_statuses(*, updates: Sequence[tuple[int, StatusUpdate]]) -> int:
    """Apply updates in the order given where the machine allows; record every one.

    Monotonic (queued < sending < sent < unknown < final), first final wins,
    duplicates are no-ops. Rows are locked in id order so two workers applying
    receipts for the same messages serialise instead of losing one. Returns the
    number of messages whose status changed.
    """
    if not updates:
        return 0
    now = timezone.now()
    with transaction.atomic():
        locked = (
            Message.objects.select_for_update()
            .filter(pk__in={message_id for message_id, _ in updates})
            .order_by("pk")
            .values_list(*_Locked.__slots__)
        )
        messages = {row[0]: _Locked(*row) for row in locked}
        events: list[tuple] = []
        last_applied: dict[int, StatusUpdate] = {}
        moves: list[MessageMove] = []
        for message_id, update in updates:
            message = messages[message_id]
            applied = can_move(message.status, update.status)
            events.append(
                (
                    message_id,
                    now,
                    update.kind,
                    message.provider,
                    "",
                    message.status,
                    update.status,
                    update.provider_status,
                    update.error.pk if update.error else None,
                    applied,
                    update.occurred_at,
                    update.payload,
                )
            )
            if applied:
                last_applied[message_id] = update
                message.status = update.status
                error_id = update.error.pk if update.error else None
                moves.append((message_id, message.account_id, update.status, error_id))
        rows_insert(MessageEvent, EVENT_FIELDS, events)
        hook_message_moves_emit(moves=moves, now=now)
        provider_ids = {
            message_id: update.provider_message_id
            for message_id, update in updates
            if update.provider_message_id
        }
        _write_statuses(messages, last_applied, provider_ids, now)
    return len(last_applied)


def _per_row(values: dict[int, str]) -> RawSQL:
    """A provider id per message for one UPDATE; other rows keep theirs.

    Django's Case(When(...)) costs about 0.1 ms a row to build. PostgreSQL
    looks each id up in one array, in C; a CASE of a thousand WHENs would be
    tried in turn for every row. SQLite gets the CASE.
    """
    if connection.vendor == "postgresql":
        return RawSQL(
            "COALESCE((%s::varchar[])[array_position(%s::bigint[], id)],"
            " provider_message_id)",
            [list(values.values()), list(values)],
            output_field=CharField(),
        )
    whens = " WHEN %s THEN %s" * len(values)
    params = [item for pair in values.items() for item in pair]
    return RawSQL(
        f"CASE id{whens} ELSE provider_message_id END",
        params,
        output_field=CharField(),
    )


def _write_statuses(
    messages: dict[int, _Locked],
    last_applied: dict[int, StatusUpdate],
    provider_ids: dict[int, str],
    now: datetime,
) -> None:
    """Write each message's final outcome of the batch, one UPDATE per distinct outcome.

    Provider ids ride along in the same UPDATE (a CASE per row): every UPDATE
    of a message rewrites all its index entries, so one per outcome, not two.
    """
    provider_ids = dict(provider_ids)
    groups: dict[tuple, list[int]] = defaultdict(list)
    refunds: dict[int, int] = defaultdict(int)
    opted_out: list[tuple[int, str, ErrorCode]] = []
    for message_id, update in last_applied.items():
        message = messages[message_id]
        error = update.error
        refund = bool(
            message.billed and is_final(update.status) and error and not error.billable
        )
        if refund:
            refunds[message.account_id] += message.segments
        if error and error.number_advice == ErrorCode.NumberAdvice.OPTED_OUT:
            opted_out.append((message.account_id, message.phone, error))
        key = (update.status, update.provider_status, error, refund)
        groups[key].append(message_id)

    for (status, provider_status, error, refund), ids in groups.items():
        fields: dict = {"status": status, "updated_at": now}
        if provider_status:
            fields["provider_status"] = provider_status
        if error is not None or status == Status.DELIVERED:
            fields["error"] = error  # a late delivery clears "no receipt"
        if is_final(status):
            fields["final_at"] = now
        if status in SHOWS_SENT:
            fields["sent_at"] = Coalesce(F("sent_at"), now)
        if refund:
            fields["billed"] = False
        stored = {pk: provider_ids.pop(pk) for pk in ids if pk in provider_ids}
        if stored:
            fields["provider_message_id"] = _per_row(stored)
        # By id alone: the rows are locked since they were read. A status in
        # the WHERE would let PostgreSQL read a status index instead whenever
        # its statistics say that status is rare (tests/messaging/test_dispatch_plans.py).
        Message.objects.filter(pk__in=ids).update(**fields)
    if provider_ids:
        # A result that lost the race to a sweep still names the message at the
        # provider: keep the id, so its receipts find it.
        Message.objects.filter(pk__in=provider_ids).update(
            provider_message_id=_per_row(provider_ids), updated_at=now
        )

    # In id order: batches applied side by side lock accounts and opt-out rows
    # in the same order, so they queue behind each other instead of deadlocking.
    for account_id, segments in sorted(refunds.items()):
        credit_refund(
            account_id=account_id, segments=segments, note="Final error not billable"
        )
    for account_id, phone, error in sorted(opted_out, key=lambda row: row[:2]):
        opt_out_record(
            account_id=account_id,
            phone=phone,
            source=OptOutEvent.Source.CARRIER,
            detail=f"{error.provider} {error.code}: {error.title}",
        )


def message_events_record_moves(
    *,
    moves: Iterable[tuple[int, str]],
    status: str,
    kind: str,
    now: datetime,
    error: ErrorCode | None = None,
    payload: dict | None = None,
) -> None:
    """Record moves made set-based outside the receipt path (claims, retries, sweeps)."""
    moves = list(moves)
    error_id = error.pk if error else None
    rows_insert(
        MessageEvent,
        EVENT_FIELDS,
        [
            (message_id, now, kind, "", "", from_status, status, "")
            + (error_id, True, None, payload or {})
            for message_id, from_status in moves
        ],
    )
    hook_message_moves_emit(
        moves=[(message_id, None, status, error_id) for message_id, _ in moves], now=now
    )


def message_apply_status(*, message_id: int, update: StatusUpdate) -> bool:
    """Apply one update to one message; True if its status changed."""
    return messages_apply_statuses(updates=[(message_id, update)]) == 1


def receipts_apply(*, receipts: Iterable[Receipt]) -> int:
    """Apply provider receipts; park those whose message is not known yet.

    A receipt can beat the send call that tells us the provider's id. It is
    kept as an event without a message, and the send claims it when it stores
    the id (message_claim_parked_receipts). A receipt that arrived for a
    sender only changes that sender's account's messages at its provider;
    one naming another's message is refused and kept for support.
    """
    receipts = list(receipts)
    by_uuid = {r.message_uuid for r in receipts if r.message_uuid}
    by_provider_id = {(r.provider, r.provider_message_id) for r in receipts}
    found_uuid: dict[str, _Found] = {}
    if by_uuid:
        rows = Message.objects.filter(uuid__in=by_uuid)
        found_uuid = {
            str(row[0]): _Found(*row[1:])
            for row in rows.values_list("uuid", *_Found._fields)
        }
    found_id: dict[tuple[str, str], _Found] = {}
    for provider in {provider for provider, _ in by_provider_id}:
        ids = [pid for p, pid in by_provider_id if p == provider]
        rows = Message.objects.filter(provider=provider, provider_message_id__in=ids)
        found_id |= {
            (provider, row[0]): _Found(*row[1:])
            for row in rows.values_list("provider_message_id", *_Found._fields)
        }

    updates, kept = [], []
    for receipt in receipts:
        found = found_uuid.get(str(receipt.message_uuid)) or found_id.get(
            (receipt.provider, receipt.provider_message_id)
        )
        if found is None:
            kept.append(_kept_event(receipt))
        elif receipt.sender and (
            receipt.sender.account_id,
            receipt.sender.provider,
        ) != (
            found.account_id,
            found.provider,
        ):
            kept.append(_kept_event(receipt, refused=found))
        else:
            updates.append((found.pk, receipt.update))
    with transaction.atomic():
        MessageEvent.objects.bulk_create(kept)
        return messages_apply_statuses(updates=updates)


class _Found(NamedTuple):
    """The message a receipt names, with what decides whether the receipt may change it."""

    pk: int
    account_id: int
    provider: str


def _kept_event(receipt: Receipt, *, refused: _Found | None = None) -> MessageEvent:
    """A receipt kept without its message: parked for the send to claim, or refused."""
    update = receipt.update
    payload = update.payload
    if refused is not None:
        payload = {
            "error": f"Refused: it arrived at the webhook of sender {receipt.sender}"
            f" (account {receipt.sender.account_id}, {receipt.sender.provider}) but"
            f" names message {refused.pk} of account {refused.account_id} at"
            f" {refused.provider}. A sender's receipts only change its own"
            " account's messages.",
            "receipt": update.payload,
        }
    return MessageEvent(
        message=None,
        sender=receipt.sender,
        created_at=timezone.now(),
        kind=update.kind,
        provider=receipt.provider,
        provider_message_id=receipt.provider_message_id,
        status=update.status,
        provider_status=update.provider_status,
        error=update.error,
        occurred_at=update.occurred_at,
        payload=payload,
    )


@transaction.atomic
def messages_claim_parked_receipts(*, message_ids: Sequence[int]) -> int:
    """Attach and apply receipts that arrived before the provider's id was stored.

    Only receipts that arrived for a sender of the message's account (or from
    the simulator, in-process) are claimed.
    """
    # By id alone, the provider id checked here: "provider_message_id IS NOT
    # NULL" would let PostgreSQL read that partial index whole while its
    # statistics say it is small.
    known = {
        (provider, provider_id): (pk, account_id)
        for pk, provider, provider_id, account_id in Message.objects.filter(
            pk__in=message_ids
        ).values_list("pk", "provider", "provider_message_id", "account_id")
        if provider_id
    }
    if not known:
        return 0
    parked = list(
        MessageEvent.objects.select_for_update(of=("self",))
        .filter(
            message__isnull=True,
            provider__in={provider for provider, _ in known},
            provider_message_id__in={provider_id for _, provider_id in known},
        )
        .annotate(sender_account_id=F("sender__account_id"))
        .order_by("pk")
    )
    parked = [
        event
        for event in parked
        if (event.provider, event.provider_message_id) in known
        and event.sender_account_id
        in (None, known[(event.provider, event.provider_message_id)][1])
    ]
    if not parked:
        return 0
    for event in parked:
        event.message_id = known[(event.provider, event.provider_message_id)][0]
    MessageEvent.objects.bulk_update(parked, ["message"])
    updates = [
        (
            event.message_id,
            StatusUpdate(
                status=Status(event.status),
                kind=event.kind,
                provider_status=event.provider_status,
                error=event.error,
                occurred_at=event.occurred_at,
                payload={"replayed_event": event.pk},
            ),
        )
        for event in parked
    ]
    return messages_apply_statuses(updates=updates)
