"""Reads shaped for the screens and the API: counts per bucket and per error."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncHour

from campaigns.models import Campaign, Lead
from messaging.models import ErrorCode, Message
from messaging.statuses import Bucket, Status, rollup, statuses_in


def campaign_bucket_counts(*, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Count each campaign's current messages per bucket, plus its deleted leads.

    Two grouped queries for any number of campaigns.
    """
    campaign_ids = list(campaign_ids)
    pairs: dict[int, list[tuple[str, int]]] = defaultdict(list)
    rows = (
        Message.objects.filter(campaign_id__in=campaign_ids, superseded=False)
        .values_list("campaign_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for campaign_id, status, n in rows:
        pairs[campaign_id].append((status, n))
    deleted_after_launch = dict(
        Message.objects.filter(
            campaign_id__in=campaign_ids,
            superseded=False,
            lead__deleted_at__isnull=False,
        )
        .values_list("campaign_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    before = dict(
        Campaign.objects.filter(pk__in=campaign_ids).values_list("pk", "deleted_leads")
    )
    counts = {}
    for campaign_id in campaign_ids:
        totals = rollup(pairs[campaign_id])
        totals[Bucket.DELETED_LEADS] = before.get(
            campaign_id, 0
        ) + deleted_after_launch.get(campaign_id, 0)
        counts[campaign_id] = totals
    return counts


def campaign_error_counts(*, campaign_ids: Iterable[int]) -> dict[int, list[dict]]:
    """List each campaign's errors by title, most frequent first, with their meaning."""
    rows = (
        Message.objects.filter(
            campaign_id__in=list(campaign_ids),
            superseded=False,
            status__in=statuses_in(Bucket.ERROR),
            error__isnull=False,
        )
        .values_list("campaign_id", "error_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    rows = list(rows)
    errors = ErrorCode.objects.in_bulk({error_id for _, error_id, _ in rows})
    by_campaign: dict[int, list[dict]] = defaultdict(list)
    for campaign_id, error_id, n in rows:
        error = errors[error_id]
        by_campaign[campaign_id].append({"error": error, "count": n})
    for items in by_campaign.values():
        items.sort(key=lambda item: (-item["count"], item["error"].title))
    return dict(by_campaign)


def lead_list_for_bucket(*, campaign: Campaign, bucket: str):
    """Leads of a campaign whose current message is in the bucket (the drill-down)."""
    if bucket == Bucket.DELETED_LEADS:
        return Lead.objects.filter(
            lists__campaigns=campaign, deleted_at__isnull=False
        ).distinct()
    in_bucket = Message.objects.filter(
        campaign=campaign,
        superseded=False,
        lead=OuterRef("pk"),
        status__in=statuses_in(bucket),
    )
    return Lead.objects.filter(Exists(in_bucket))


def campaign_list_for_accounts(*, account_ids):
    """The accounts' campaigns, newest first (the widget and the changelist)."""
    return Campaign.objects.filter(account__in=account_ids).order_by(
        "-created_at", "-pk"
    )


def errors_by_title(items: list[dict]) -> list[dict]:
    """Merge catalog entries sharing a title; most frequent first, then by title."""
    merged: dict[str, dict] = {}
    for item in items:
        error = item["error"]
        entry = merged.setdefault(
            error.title, {"title": error.title, "error": error, "count": 0}
        )
        entry["count"] += item["count"]
    return sorted(merged.values(), key=lambda e: (-e["count"], e["title"]))


def campaign_message_list_for_bucket(
    *, campaign: Campaign, bucket: str, error_title: str = ""
):
    """Current messages of a campaign in a bucket, with their lead and error (drill-down)."""
    messages = (
        Message.objects.filter(
            campaign=campaign, superseded=False, status__in=statuses_in(bucket)
        )
        .select_related("lead", "error")
        .order_by("-updated_at", "-pk")
    )
    if error_title:
        messages = messages.filter(error__title=error_title)
    return messages


def lead_message_list(*, lead: Lead):
    """Every message to and from the lead's number in its account, newest first."""
    return (
        Message.objects.filter(account_id=lead.account_id, phone=lead.phone)
        .select_related("error", "campaign")
        .order_by("-created_at", "-pk")
    )


def campaign_deliveries_over_time(*, campaign_id: int) -> list[tuple]:
    """Count a campaign's delivered messages per hour of delivery, oldest first."""
    return list(
        Message.objects.filter(
            campaign_id=campaign_id,
            superseded=False,
            status=Status.DELIVERED,
            final_at__isnull=False,
        )
        .annotate(hour=TruncHour("final_at"))
        .values_list("hour")
        .annotate(n=Count("pk"))
        .order_by("hour")
    )
