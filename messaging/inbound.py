"""Inbound texts: record them on the lead, act on opt-out keywords, queue our replies."""

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from messaging.dispatch import messages_enqueue
from messaging.hooks.outbox import hook_messages_received_emit
from messaging.models import Message, MessageEvent, OptOutEvent, Sender
from messaging.optouts import keyword_intent, opt_in_record, opt_out_record
from messaging.providers.base import Inbound
from messaging.segments import segment_count
from messaging.statuses import Status


@transaction.atomic
def inbound_receive(*, sender: Sender, messages: Sequence[Inbound]) -> list[Message]:
    """Record texts people sent to a sender, honour their keywords, queue the replies.

    A provider redelivering a text it already sent is a no-op, even when two
    workers receive the two copies at once: the sender's row lock makes the
    second wait for the first and then find its message. MMS media links are
    kept in the body, after the text. Returns the new inbound messages.
    """
    Sender.objects.select_for_update().filter(pk=sender.pk).values_list("pk").get()
    existing = set(
        Message.objects.filter(
            provider=sender.provider,
            provider_message_id__in=[m.provider_message_id for m in messages],
        ).values_list("provider_message_id", flat=True)
    )
    fresh = list({m.provider_message_id: m for m in messages}.values())
    fresh = [m for m in fresh if m.provider_message_id not in existing]
    if not fresh:
        return []
    account = sender.account
    lead_model = Message._meta.get_field("lead").related_model
    leads = dict(
        lead_model.objects.filter(
            account=account, phone__in={m.from_number for m in fresh}
        ).values_list("phone", "pk")
    )
    now = timezone.now()
    received = Message.objects.bulk_create(
        Message(
            account=account,
            sender=sender,
            lead_id=leads.get(m.from_number),
            direction=Message.Direction.INBOUND,
            phone=m.from_number,
            body="\n".join(filter(None, [m.body, *m.media])),
            segments=segment_count(m.body).segments,
            status=Status.RECEIVED,
            provider=sender.provider,
            provider_message_id=m.provider_message_id,
            provider_status=Status.RECEIVED,
            final_at=now,
        )
        for m in fresh
    )
    MessageEvent.objects.bulk_create(
        MessageEvent(
            message=message,
            created_at=now,
            kind=MessageEvent.Kind.INBOUND,
            provider=sender.provider,
            provider_message_id=m.provider_message_id,
            status=Status.RECEIVED,
            applied=True,
            payload=m.payload,
        )
        for message, m in zip(received, fresh, strict=True)
    )
    hook_messages_received_emit(account_id=account.pk, messages=received)
    replies = [
        Message(
            account=account,
            sender=sender,
            lead_id=message.lead_id,
            phone=message.phone,
            body=reply,
            segments=segment_count(reply).segments,
            status=Status.QUEUED,
            provider=sender.provider,
            expires_at=now + timedelta(hours=account.validity),
            # The answer to the person's own text goes at once, at any hour.
            quiet_hours=False,
        )
        for message, m in zip(received, fresh, strict=True)
        if (reply := _keyword_act(sender, message, m.body))
    ]
    if replies:
        replies = Message.objects.bulk_create(replies)
        messages_enqueue(message_ids=[reply.pk for reply in replies], priority=True)
    return received


def _keyword_act(sender: Sender, message: Message, text: str) -> str:
    """Apply an opt-out, opt-in or help keyword; return the reply it calls for, if any.

    The keyword is read from the text alone: "STOP" with a picture still counts.
    """
    intent = keyword_intent(text)
    record = {"account_id": sender.account_id, "phone": message.phone}
    said = text.strip()[:40]
    detail = f"Texted {said!r} to {sender.phone_number}"
    if intent == "opt_out":
        created = opt_out_record(
            **record, source=OptOutEvent.Source.KEYWORD, detail=detail
        )
        confirm = created and not sender.provider_confirms_opt_out
        return sender.account.opt_out_reply if confirm else ""
    if intent == "opt_in":
        opt_in_record(**record, source=OptOutEvent.Source.KEYWORD, detail=detail)
    if intent == "help":
        return sender.account.help_reply
    return ""
