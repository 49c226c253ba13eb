"""Webhook ingestion: what a verified provider request says, applied to our messages."""

from collections import defaultdict

from django.utils import timezone

from messaging.inbound import inbound_receive
from messaging.models import MessageEvent, Sender
from messaging.providers.base import Inbound, Parsed, Provider
from messaging.services import receipts_apply


def webhook_ingest(
    *, provider: Provider, parsed: Parsed, sender: Sender | None = None
) -> int:
    """Receive inbound texts, then apply receipts (parking unknown ones).

    Each step is atomic and idempotent, so a provider retrying after a failure
    halfway repeats nothing; one transaction around both would only add round
    trips to the hot path. Inbound texts go to the sender the webhook belongs
    to; without one (the simulator's in-process callbacks) to the sender owning
    the number texted. Returns the number of messages whose status changed.
    """
    for owner, messages in _inbound_by_sender(provider, parsed.inbound, sender).items():
        inbound_receive(sender=owner, messages=messages)
    return receipts_apply(receipts=parsed.receipts)


def _inbound_by_sender(
    provider: Provider, inbound: list[Inbound], sender: Sender | None
) -> dict[Sender, list[Inbound]]:
    if not inbound:
        return {}
    if sender is not None:
        return {sender: inbound}
    owners = {
        owner.phone_number: owner
        for owner in Sender.objects.select_related("account").filter(
            provider=provider.name, phone_number__in={m.to_number for m in inbound}
        )
    }
    grouped: dict[Sender, list[Inbound]] = defaultdict(list)
    for message in inbound:
        if message.to_number in owners:
            grouped[owners[message.to_number]].append(message)
    return grouped


def webhook_keep_malformed(*, provider: str, body: bytes, error: str) -> MessageEvent:
    """Keep an authentic but unreadable request for support to look at."""
    return MessageEvent.objects.create(
        message=None,
        created_at=timezone.now(),
        kind=MessageEvent.Kind.RECEIPT,
        provider=provider,
        payload={"raw": body.decode("utf-8", errors="replace"), "error": error},
    )
