"""Writes on leads, lead lists and draft campaigns (the API and the portal's composer)."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Lead, LeadList
from campaigns.steps import campaign_steps_replace
from portal.audit import ADDITION, audit_record
from portal.phones import phone_is_valid


def lead_checked_phone(phone: str) -> str:
    """What Lead.checked_phone holds for a number: itself when valid, else empty."""
    return phone if phone_is_valid(phone) else ""


class LeadExists(Exception):
    """The account already has a lead with this number."""


class CampaignNotDraft(Exception):
    """Only a draft campaign can be changed."""


@transaction.atomic
def lead_create(*, account_id: int, phone: str, lists=(), **data) -> Lead:
    """Add a lead (phone already E.164), or bring back a deleted one with that number."""
    lead = Lead.objects.filter(account_id=account_id, phone=phone).first()
    if lead is not None and lead.deleted_at is None:
        raise LeadExists(phone)
    if lead is None:
        lead = Lead(account_id=account_id, phone=phone)
    for name, value in data.items():
        setattr(lead, name, value)
    lead.deleted_at = None
    lead.checked_phone = lead_checked_phone(lead.phone)
    lead.save()
    if lists:
        lead.lists.add(*lists)
    return lead


@transaction.atomic
def lead_update(*, lead: Lead, lists=None, **data) -> Lead:
    """Change a lead's fields; lists, when given, replace its lists."""
    if "phone" in data and data["phone"] != lead.phone:
        if Lead.objects.filter(
            account_id=lead.account_id, phone=data["phone"]
        ).exists():
            raise LeadExists(data["phone"])
    for name, value in data.items():
        setattr(lead, name, value)
    lead.checked_phone = lead_checked_phone(lead.phone)
    lead.save()
    if lists is not None:
        lead.lists.set(lists)
    return lead


def lead_delete(*, lead: Lead) -> None:
    """Soft-delete: campaigns keep counting it under "Deleted leads"."""
    leads_delete(lead_ids=[lead.pk])


def leads_delete(*, lead_ids: Iterable[int] | QuerySet) -> int:
    """Soft-delete the leads among lead_ids in one UPDATE; return how many were live."""
    now = timezone.now()
    return Lead.objects.filter(pk__in=lead_ids, deleted_at__isnull=True).update(
        deleted_at=now, updated_at=now
    )


@transaction.atomic
def campaign_create(
    *,
    account_id: int,
    lists=(),
    steps=(),
    actor: AbstractBaseUser | None = None,
    **data,
) -> Campaign:
    """Create a draft campaign; `steps` are its later steps (step 1 is the body)."""
    campaign = Campaign.objects.create(account_id=account_id, **data)
    if lists:
        campaign.lists.set(lists)
    if steps:
        campaign_steps_replace(campaign=campaign, steps=steps)
    audit_record(actor=actor, obj=campaign, message="Created", flag=ADDITION)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign_id: int,
    lists=None,
    steps=None,
    actor: AbstractBaseUser | None = None,
    **data,
) -> Campaign:
    """Change a campaign while it is a draft; raise CampaignNotDraft otherwise.

    `steps`, when given, replace its later steps.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.state != Campaign.State.DRAFT:
        raise CampaignNotDraft(campaign.state)
    for name, value in data.items():
        setattr(campaign, name, value)
    campaign.save()
    if lists is not None:
        campaign.lists.set(lists)
    if steps is not None:
        campaign_steps_replace(campaign=campaign, steps=steps)
    audit_record(actor=actor, obj=campaign, message="Changed the draft")
    return campaign


@transaction.atomic
def campaign_duplicate(
    *, campaign_id: int, actor: AbstractBaseUser | None = None
) -> Campaign:
    """Copy a campaign of any state into a new draft: name, sender, lists, body, defaults."""
    source = Campaign.objects.get(pk=campaign_id)
    copy = campaign_create(
        account_id=source.account_id,
        lists=list(source.lists.values_list("pk", flat=True)),
        name=f"Copy of {source.name}"[:200],
        sender_id=source.sender_id,
        body=source.body,
        steps=[
            {
                "body": step.body,
                "delay": step.delay,
                "delay_unit": step.delay_unit,
                "send_at": step.send_at,
            }
            for step in source.steps.all()
        ],
        field_defaults=source.field_defaults,
        validity_hours=source.validity_hours,
        stop_on_reply=source.stop_on_reply,
        stop_on_opt_out=source.stop_on_opt_out,
        stop_on_permanent_error=source.stop_on_permanent_error,
        include_new_leads=source.include_new_leads,
    )
    audit_record(
        actor=actor, obj=copy, message=f"Duplicated from {source}", flag=ADDITION
    )
    return copy


@transaction.atomic
def leads_add_to_list(
    *, lead_list: LeadList, lead_ids: Iterable[int] | QuerySet
) -> int:
    """Add the leads among lead_ids of the list's account to it; return how many joined."""
    joining = list(
        Lead.objects.filter(
            pk__in=lead_ids, account_id=lead_list.account_id, deleted_at__isnull=True
        )
        .exclude(lists=lead_list)
        .values_list("pk", flat=True)
    )
    membership = Lead.lists.through
    membership.objects.bulk_create(
        [membership(lead_id=pk, leadlist_id=lead_list.pk) for pk in joining],
        ignore_conflicts=True,
    )
    # A lead's lists are part of it in the API's change feed.
    Lead.objects.filter(pk__in=joining).update(updated_at=timezone.now())
    return len(joining)


@transaction.atomic
def leads_remove_from_list(
    *, lead_list: LeadList, lead_ids: Iterable[int] | QuerySet
) -> int:
    """Take the leads among lead_ids out of the list; return how many left it."""
    leaving = list(
        Lead.objects.filter(pk__in=lead_ids, lists=lead_list).values_list(
            "pk", flat=True
        )
    )
    Lead.lists.through.objects.filter(
        leadlist_id=lead_list.pk, lead_id__in=leaving
    ).delete()
    Lead.objects.filter(pk__in=leaving).update(updated_at=timezone.now())
    return len(leaving)


def lead_list_create(*, account_id: int, name: str) -> LeadList:
    return LeadList.objects.create(account_id=account_id, name=name)
