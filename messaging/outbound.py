"""One-off outbound messages: validate, create the message, and hand it to dispatch."""

from django.db import transaction
from django.utils import timezone

from messaging.dispatch import message_validity_end, messages_enqueue
from messaging.models import Message, OptOut, Sender
from messaging.segments import segment_count
from messaging.statuses import Status
from portal.models import Account
from portal.phones import phone_parse
from portal.services import InsufficientCredit

# Twilio's limit (error 21617), the strictest of our providers; the campaign
# launch check uses it too.
MAX_BODY_CHARS = 1600


class SendRefused(Exception):
    """The message cannot be sent as asked; nothing was created."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def _lead_model():
    # Reached through the foreign key: messaging never imports campaigns.
    return Message._meta.get_field("lead").related_model


def message_send(
    *,
    account: Account,
    sender_id: int,
    body: str,
    phone: str = "",
    lead_id: int | None = None,
) -> Message:
    """Queue one message to a number or a lead from one of the account's senders.

    Refuses (SendRefused, or InsufficientCredit) before creating anything when
    the sender is not the account's or inactive, the body is empty or too
    long, the number is invalid, opted out or suppressed, or the credit cannot
    cover it. The credit is charged when a worker sends it, as for campaigns.
    """
    sender = Sender.objects.filter(account=account, pk=sender_id).first()
    if sender is None:
        raise SendRefused("unknown_sender", "No such sender in this account.")
    if not sender.is_active:
        raise SendRefused("sender_inactive", "This sender is switched off.")
    if not body.strip():
        raise SendRefused("empty_body", "Write the message: the body is empty.")
    if len(body) > MAX_BODY_CHARS:
        raise SendRefused(
            "body_too_long",
            f"The message is {len(body)} characters; providers accept at most "
            f"{MAX_BODY_CHARS}.",
        )
    lead = None
    if lead_id is not None:
        lead = (
            _lead_model()
            .objects.filter(account=account, pk=lead_id, deleted_at__isnull=True)
            .first()
        )
        if lead is None:
            raise SendRefused("unknown_lead", "No such lead in this account.")
        phone = lead.phone
    parsed = phone_parse(phone, region=account.default_country)
    if parsed.reason:
        raise SendRefused(
            "invalid_number", f"Cannot send to {phone!r}: {parsed.reason}."
        )
    if lead is None:
        # A number of a known lead shows in that lead's history.
        lead = (
            _lead_model()
            .objects.filter(account=account, phone=parsed.e164, deleted_at__isnull=True)
            .first()
        )
    if OptOut.objects.filter(account=account, phone=parsed.e164).exists():
        raise SendRefused("opted_out", "This number opted out: it must not be texted.")
    if lead is not None and lead.suppressed_at is not None:
        raise SendRefused(
            "suppressed",
            f"This lead is suppressed ({lead.suppressed_reason or 'by staff'}).",
        )
    segments = segment_count(body).segments
    if segments > account.credit_balance:
        raise InsufficientCredit(account.pk)
    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            account=account,
            sender=sender,
            lead=lead,
            phone=parsed.e164,
            body=body,
            segments=segments,
            provider=sender.provider,
            status=Status.QUEUED,
            expires_at=message_validity_end(account=account, hours=None, now=now),
            recipient_zone=lead.time_zone if lead is not None else "",
            created_at=now,
        )
        messages_enqueue(message_ids=[message.pk], priority=True)
    return message
