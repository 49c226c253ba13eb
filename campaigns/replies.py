"""Replies: the inbox of leads whose last text is theirs, and staff replies to a lead."""

from collections.abc import Iterable, Sequence

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from campaigns.models import Lead
from messaging.models import Message, OptOut, Sender
from portal.models import Account


def inbox_list(*, account_ids: Iterable[int] | QuerySet) -> QuerySet[Message]:
    """Each live lead's latest text when nothing was sent to it since, newest first.

    A lead is waiting for an answer when the newest message of its number is
    one it sent us (an inbound message newer than any outbound one). Numbers
    that opted out are left out: they cannot be answered. Each row is an
    inbound message annotated with its lead's id (`inbox_lead_id`). One query
    per page: inbound messages by msg_inbound_account_created, each checked
    against its number's messages (msg_account_phone), its lead
    (lead_unique_phone) and the opt-outs (optout_unique).
    """
    newer = Message.objects.filter(
        Q(created_at__gt=OuterRef("created_at"))
        | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk")),
        account=OuterRef("account"),
        phone=OuterRef("phone"),
    )
    lead = Lead.objects.filter(
        account=OuterRef("account"), phone=OuterRef("phone"), deleted_at__isnull=True
    ).values("pk")[:1]
    opted_out = OptOut.objects.filter(
        account=OuterRef("account"), phone=OuterRef("phone")
    )
    return (
        Message.objects.filter(
            account__in=account_ids, direction=Message.Direction.INBOUND
        )
        .filter(~Exists(newer), ~Exists(opted_out))
        .annotate(inbox_lead_id=Subquery(lead))
        .filter(inbox_lead_id__isnull=False)
        .order_by("-created_at", "-pk")
    )


def reply_senders(*, account: Account) -> QuerySet[Sender]:
    """The account's active senders a reply may go from."""
    return Sender.objects.filter(account=account, is_active=True).order_by("pk")


def reply_sender_default(*, lead: Lead, senders: Sequence[Sender]) -> Sender | None:
    """The sender the lead last texted (or was texted from), else the first one."""
    ids = [s.pk for s in senders]
    last = (
        Message.objects.filter(
            account_id=lead.account_id, phone=lead.phone, sender_id__in=ids
        )
        .order_by("-created_at", "-pk")
        .values_list("sender_id", flat=True)
        .first()
    )
    return next((s for s in senders if s.pk == last), senders[0] if senders else None)
