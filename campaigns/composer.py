"""The composer: the launch check of a campaign being written, and a test text to oneself."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Exists, OuterRef, QuerySet

from campaigns.fan_out import BodyRenderer
from campaigns.launch import LaunchPreview, launch_check
from campaigns.models import Campaign, Lead
from campaigns.projection import campaign_finish_estimate
from messaging.models import Message, Sender
from messaging.outbound import SendRefused, message_send
from portal.audit import audit_record
from portal.models import Account


def leads_of_lists(*, account_id: int, list_ids: list[int]) -> QuerySet[Lead]:
    """The leads of any of the account's given lists, each once (as a campaign targets them)."""
    membership = Lead.lists.through.objects.filter(
        lead_id=OuterRef("pk"), leadlist_id__in=list_ids
    )
    return Lead.objects.filter(Exists(membership), account_id=account_id)


def campaign_compose_check(
    *,
    account: Account,
    body: str,
    field_defaults: dict[str, str],
    list_ids: list[int],
    sender: Sender | None,
    later_bodies: list[str] = (),
) -> LaunchPreview:
    """The launch check on what is typed, before it is saved (the composer's live panel).

    With a sender and leads, it says when sending would finish.
    """
    leads = leads_of_lists(account_id=account.pk, list_ids=list_ids)
    preview = launch_check(
        account=account,
        body=body,
        field_defaults=field_defaults,
        leads=leads,
        has_sender=sender is not None,
        has_lists=bool(list_ids),
        later_bodies=later_bodies,
    )
    if sender is not None and preview.leads:
        preview.finish = campaign_finish_estimate(
            account=account, sender=sender, leads=leads, texted=preview.leads
        )
    return preview


def campaign_test_send(
    *,
    account: Account,
    sender_id: int | None,
    body: str,
    field_defaults: dict[str, str],
    list_ids: list[int],
    phone: str,
    actor: AbstractBaseUser | None,
    campaign: Campaign | None = None,
) -> Message:
    """Text the message, as the composer's sample lead gets it, to one typed number.

    Goes through message_send like any one-off message (number check, opt-outs,
    credit); raises SendRefused or InsufficientCredit before sending anything.
    """
    if sender_id is None:
        raise SendRefused(
            "no_sender", "Choose a sender first: the test goes out from it."
        )
    check = campaign_compose_check(
        account=account,
        body=body,
        field_defaults=field_defaults,
        list_ids=list_ids,
        sender=None,
    )
    text = check.sample
    if not text:
        # No lead to fill the fields from: the defaults alone must do.
        try:
            text = BodyRenderer(body, field_defaults).render(
                first_name="", last_name="", phone="", custom={}
            )
        except ValueError:
            text = None
        if text is None:
            raise SendRefused(
                "missing_field",
                "The message uses fields no lead fills in: choose lists with leads, "
                "or give each field a default.",
            )
    message = message_send(account=account, sender_id=sender_id, body=text, phone=phone)
    if campaign is not None:
        audit_record(
            actor=actor, obj=campaign, message=f"Sent a test to {message.phone}"
        )
    return message
