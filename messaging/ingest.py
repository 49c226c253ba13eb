"""Webhook ingestion: keep verified provider requests, then apply what they say in batches."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.db import transaction
from django.utils import timezone

from messaging.catalog import errors_cached
from messaging.inbound import inbound_receive
from messaging.models import MessageEvent, Sender, WebhookEvent
from messaging.providers import provider_for
from messaging.providers.base import (
    Inbound,
    MalformedWebhook,
    Receipt,
    WebhookRequest,
)
from messaging.services import receipts_apply

logger = logging.getLogger(__name__)

# Webhooks applied per transaction: one message lookup and one status write
# for all of them, while the rows they touch stay locked for well under a second.
WEBHOOK_BATCH_SIZE = 500


def webhook_events_apply(*, limit: int = WEBHOOK_BATCH_SIZE) -> int:
    """Apply the oldest recorded webhooks, up to limit, exactly once; return how many.

    Rows are claimed with SKIP LOCKED, so workers running side by side take
    different rows, and deleted in the transaction that applies them: a worker
    that dies mid-batch leaves them to the next run. A batch that fails is
    applied again one webhook at a time, and an authentic request that cannot
    be read or applied is kept for support (a provider's retry would not fix
    it): one odd request never holds up the ones after it.
    """
    with transaction.atomic():
        rows = list(
            WebhookEvent.objects.select_for_update(skip_locked=True)
            .order_by("pk")
            .values_list("pk", "sender_id", "url", "body", "form")[:limit]
        )
        if not rows:
            return 0
        # A batch comes from a few senders: each is read once, not once a row.
        senders = Sender.objects.select_related("account").in_bulk(
            {sender_id for _, sender_id, *_ in rows}
        )
        events = [_Claimed(*row, sender=senders[row[1]]) for row in rows]
        try:
            with transaction.atomic():
                _events_apply(events)
        except Exception:
            logger.exception("messaging.webhook.batch_failed")
            for event in events:
                try:
                    with transaction.atomic():
                        _events_apply([event])
                except Exception as exc:
                    _keep_unreadable(event, repr(exc))
        WebhookEvent.objects.filter(pk__in=[event.pk for event in events]).delete()
    return len(events)


@dataclass(slots=True)
class _Claimed:
    """A recorded webhook as the status task reads it: lighter than a model."""

    pk: int
    sender_id: int
    url: str
    body: str
    form: dict
    sender: Sender


def _events_apply(events: Sequence[_Claimed]) -> None:
    """Parse recorded webhooks with their providers and apply them together."""
    receipts: list[Receipt] = []
    inbound: dict[Sender, list[Inbound]] = defaultdict(list)
    with errors_cached():
        for event in events:
            try:
                parsed = provider_for(event.sender.provider).parse(
                    request=_request(event)
                )
            except MalformedWebhook as exc:
                _keep_unreadable(event, str(exc))
                continue
            # A receipt may only change the messages of the sender it came for.
            receipts += [replace(r, sender=event.sender) for r in parsed.receipts]
            if parsed.inbound:
                inbound[event.sender] += parsed.inbound
    # Senders in id order because receiving locks each one: two batches never
    # wait on each other's sender in opposite orders.
    for sender in sorted(inbound, key=lambda sender: sender.pk):
        inbound_receive(sender=sender, messages=inbound[sender])
    receipts_apply(receipts=receipts)


def _request(event: _Claimed) -> WebhookRequest:
    return WebhookRequest(
        url=event.url, headers={}, body=event.body.encode(), form=event.form
    )


def _keep_unreadable(event: _Claimed, error: str) -> None:
    """Keep an authentic request that cannot be applied, raw, for support to look at."""
    logger.warning(
        "messaging.webhook.unreadable",
        extra={"webhook_event": event.pk, "error": error},
    )
    MessageEvent.objects.create(
        message=None,
        sender=event.sender,
        created_at=timezone.now(),
        kind=MessageEvent.Kind.RECEIPT,
        provider=event.sender.provider,
        payload={"raw": event.body, "error": error},
    )
