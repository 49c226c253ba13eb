"""Writes on leads and lead lists (the API, the portal and the support site)."""

from collections.abc import Iterable

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Lead, LeadList
from portal.phones import phone_is_valid


def lead_checked_phone(phone: str) -> str:
    """What Lead.checked_phone holds for a number: itself when valid, else empty."""
    return phone if phone_is_valid(phone) else ""


class LeadExists(Exception):
    """The account already has a lead with this number."""


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
