"""The outbox: webhook events written in the transaction of the change they tell of.

Every emitter reads the subscribed endpoints first (one query over a table of
a few rows); an account with no endpoint for the event costs nothing more.
Rows go in with one insert per batch (COPY on PostgreSQL), and each endpoint
that got some is nudged once the transaction commits.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.utils import timezone

from messaging.hooks.models import HookEndpoint, HookEvent
from messaging.models import Message, OptOutEvent
from messaging.statuses import Status
from portal.bulk import rows_insert
from portal.publishing import task_publish_on_commit

# Moves inside the portal's own hand-over (claimed for sending, put back for a
# retry): a receiver hears of a message from "sent" or a final status on.
UNANNOUNCED = frozenset({Status.QUEUED, Status.SENDING})

OUTBOX_FIELDS = (
    "endpoint_id",
    "created_at",
    "type",
    "message_id",
    "status",
    "error_id",
    "data",
)

# (message id, its account id or None if the caller does not know it, new status, error id)
MessageMove = tuple[int, int | None, str, int | None]


def hook_subscribers(event_type: str) -> dict[int, list[int]]:
    """The endpoints taking event_type, by account: one query over the endpoint table."""
    subscribed: dict[int, list[int]] = defaultdict(list)
    rows = HookEndpoint.objects.exclude(state=HookEndpoint.State.DISABLED).values_list(
        "pk", "account_id", "event_types"
    )
    for pk, account_id, event_types in rows:
        if event_type in event_types:
            subscribed[account_id].append(pk)
    return subscribed


def hook_endpoint_nudge(endpoint_id: int) -> None:
    """Start a delivery to the endpoint once the transaction commits (the sweep if lost)."""
    from messaging.hooks.tasks import hook_deliver_task

    task_publish_on_commit(hook_deliver_task, endpoint_id)


def hook_outbox_write(rows: Sequence[tuple]) -> None:
    """Insert outbox rows (OUTBOX_FIELDS) and nudge their endpoints after the commit."""
    if not rows:
        return
    rows_insert(HookEvent, OUTBOX_FIELDS, rows)
    for endpoint_id in sorted({row[0] for row in rows}):
        hook_endpoint_nudge(endpoint_id)


def hook_event_emit(*, account_id: int, event: str, data: dict) -> None:
    """Tell the account's endpoints that take `event` of it, with data as the payload."""
    hook_events_emit(event=event, items=[(account_id, data)])


def hook_events_emit(*, event: str, items: Iterable[tuple[int, dict]]) -> None:
    """Emit one event per (account id, data), in the order given."""
    subscribed = hook_subscribers(event)
    if not subscribed:
        return
    now = timezone.now()
    hook_outbox_write(
        [
            (endpoint_id, now, event, None, "", None, data)
            for account_id, data in items
            for endpoint_id in subscribed.get(account_id, ())
        ]
    )


def hook_message_moves_emit(
    *, moves: Sequence[MessageMove], now: datetime | None = None
) -> None:
    """Emit message.status_changed for status moves, in the order given.

    The payload (uuid, campaign, error's explanation...) is read when the batch
    is sent: only ids and the new status are written here.
    """
    moves = [move for move in moves if move[2] not in UNANNOUNCED]
    if not moves:
        return
    subscribed = hook_subscribers(HookEvent.Type.MESSAGE_STATUS)
    if not subscribed:
        return
    unknown = [move[0] for move in moves if move[1] is None]
    accounts = dict(
        Message.objects.filter(pk__in=unknown, account_id__in=subscribed).values_list(
            "pk", "account_id"
        )
        if unknown
        else ()
    )
    now = now or timezone.now()
    hook_outbox_write(
        [
            (
                endpoint_id,
                now,
                HookEvent.Type.MESSAGE_STATUS,
                message_id,
                status,
                error_id,
                {},
            )
            for message_id, account_id, status, error_id in moves
            for endpoint_id in subscribed.get(
                account_id or accounts.get(message_id), ()
            )
        ]
    )


def hook_messages_received_emit(
    *, account_id: int, messages: Sequence[Message]
) -> None:
    """Emit message.received for texts that came in to one account."""
    hook_events_emit(
        event=HookEvent.Type.MESSAGE_RECEIVED,
        items=[
            (
                account_id,
                {
                    "message": str(message.uuid),
                    "phone": message.phone,
                    "lead": message.lead_id,
                    "sender": message.sender_id,
                    "body": message.body,
                },
            )
            for message in messages
        ],
    )


def hook_opt_outs_emit(*, events: Sequence[OptOutEvent]) -> None:
    """Emit opt_out.changed for recorded opt-outs and opt-ins."""
    hook_events_emit(
        event=HookEvent.Type.OPT_OUT,
        items=[
            (
                event.account_id,
                {
                    "phone": event.phone,
                    "opted_out": event.opted_out,
                    "source": event.source,
                    "detail": event.detail,
                },
            )
            for event in events
        ],
    )
