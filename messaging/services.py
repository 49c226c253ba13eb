"""Status changes: the one service that moves messages through the status machine."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from messaging.models import ErrorCode, Message, MessageEvent, OptOutEvent
from messaging.optouts import opt_out_record
from messaging.statuses import Status, can_move, is_final
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


@dataclass(frozen=True)
class Receipt:
    """A provider's status report, found by our message uuid or the provider's id."""

    provider: str
    provider_message_id: str
    update: StatusUpdate
    message_uuid: str | None = None


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
        messages = {
            message.pk: message
            for message in Message.objects.select_for_update()
            .filter(pk__in={message_id for message_id, _ in updates})
            .order_by("pk")
            .only(
                "id", "status", "billed", "segments", "account_id", "phone", "provider"
            )
        }
        events: list[MessageEvent] = []
        last_applied: dict[int, tuple[str, StatusUpdate]] = {}
        for message_id, update in updates:
            message = messages[message_id]
            applied = can_move(message.status, update.status)
            events.append(
                MessageEvent(
                    message_id=message_id,
                    created_at=now,
                    kind=update.kind,
                    provider=message.provider,
                    from_status=message.status,
                    status=update.status,
                    provider_status=update.provider_status,
                    error=update.error,
                    applied=applied,
                    occurred_at=update.occurred_at,
                    payload=update.payload,
                )
            )
            if applied:
                first_status = last_applied.get(message_id, (message.status, update))[0]
                last_applied[message_id] = (first_status, update)
                message.status = update.status
        MessageEvent.objects.bulk_create(events)
        _write_statuses(messages, last_applied, now)
    return len(last_applied)


def _write_statuses(
    messages: dict[int, Message],
    last_applied: dict[int, tuple[str, StatusUpdate]],
    now: datetime,
) -> None:
    """Write each message's final outcome of the batch, one UPDATE per distinct outcome."""
    groups: dict[tuple, list[int]] = defaultdict(list)
    refunds: dict[int, int] = defaultdict(int)
    opted_out: list[tuple[int, str, ErrorCode]] = []
    for message_id, (from_status, update) in last_applied.items():
        message = messages[message_id]
        error = update.error
        refund = bool(
            message.billed and is_final(update.status) and error and not error.billable
        )
        if refund:
            refunds[message.account_id] += message.segments
        if error and error.number_advice == ErrorCode.NumberAdvice.OPTED_OUT:
            opted_out.append((message.account_id, message.phone, error))
        key = (from_status, update.status, update.provider_status, error, refund)
        groups[key].append(message_id)

    for (from_status, status, provider_status, error, refund), ids in groups.items():
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
        Message.objects.filter(pk__in=ids, status=from_status).update(**fields)

    for account_id, segments in refunds.items():
        credit_refund(
            account_id=account_id, segments=segments, note="Final error not billable"
        )
    for account_id, phone, error in opted_out:
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
    MessageEvent.objects.bulk_create(
        MessageEvent(
            message_id=message_id,
            created_at=now,
            kind=kind,
            from_status=from_status,
            status=status,
            error=error,
            applied=True,
            payload=payload or {},
        )
        for message_id, from_status in moves
    )


def message_apply_status(*, message_id: int, update: StatusUpdate) -> bool:
    """Apply one update to one message; True if its status changed."""
    return messages_apply_statuses(updates=[(message_id, update)]) == 1


def receipts_apply(*, receipts: Iterable[Receipt]) -> int:
    """Apply provider receipts; park those whose message is not known yet.

    A receipt can beat the send call that tells us the provider's id. It is
    kept as an event without a message, and the send claims it when it stores
    the id (message_claim_parked_receipts).
    """
    receipts = list(receipts)
    by_uuid = {r.message_uuid for r in receipts if r.message_uuid}
    by_provider_id = {(r.provider, r.provider_message_id) for r in receipts}
    found_uuid = (
        dict(Message.objects.filter(uuid__in=by_uuid).values_list("uuid", "pk"))
        if by_uuid
        else {}
    )
    found_uuid = {str(key): pk for key, pk in found_uuid.items()}
    found_id: dict[tuple[str, str], int] = {}
    for provider in {provider for provider, _ in by_provider_id}:
        ids = [pid for p, pid in by_provider_id if p == provider]
        rows = Message.objects.filter(provider=provider, provider_message_id__in=ids)
        found_id |= {
            (provider, pid): pk
            for pid, pk in rows.values_list("provider_message_id", "pk")
        }

    updates, parked = [], []
    for receipt in receipts:
        message_id = found_uuid.get(str(receipt.message_uuid)) or found_id.get(
            (receipt.provider, receipt.provider_message_id)
        )
        if message_id:
            updates.append((message_id, receipt.update))
        else:
            parked.append(_parked_event(receipt))
    with transaction.atomic():
        MessageEvent.objects.bulk_create(parked)
        return messages_apply_statuses(updates=updates)


def _parked_event(receipt: Receipt) -> MessageEvent:
    update = receipt.update
    return MessageEvent(
        message=None,
        created_at=timezone.now(),
        kind=update.kind,
        provider=receipt.provider,
        provider_message_id=receipt.provider_message_id,
        status=update.status,
        provider_status=update.provider_status,
        error=update.error,
        occurred_at=update.occurred_at,
        payload=update.payload,
    )


@transaction.atomic
def messages_claim_parked_receipts(*, message_ids: Sequence[int]) -> int:
    """Attach and apply receipts that arrived before the provider's id was stored."""
    known = {
        (provider, provider_id): pk
        for pk, provider, provider_id in Message.objects.filter(
            pk__in=message_ids, provider_message_id__isnull=False
        ).values_list("pk", "provider", "provider_message_id")
    }
    if not known:
        return 0
    parked = list(
        MessageEvent.objects.select_for_update()
        .filter(
            message__isnull=True,
            provider__in={provider for provider, _ in known},
            provider_message_id__in={provider_id for _, provider_id in known},
        )
        .order_by("pk")
    )
    parked = [e for e in parked if (e.provider, e.provider_message_id) in known]
    if not parked:
        return 0
    for event in parked:
        event.message_id = known[(event.provider, event.provider_message_id)]
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
