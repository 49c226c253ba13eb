"""Reads shaped for the screens and the API: counts per bucket and per error."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.models import Campaign, Lead, LeadImport, LeadList
from messaging.explain import number_advice_text
from messaging.models import ErrorCode, Message, MessageCount, OptOut, OptOutEvent
from messaging.statuses import STATUS_MEANING, Bucket, Status, rollup, statuses_in


def campaign_bucket_counts(*, campaign_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Count each campaign's current messages per bucket, plus its deleted leads.

    Two queries for any number of campaigns: the count rows summed (exact
    whether squashed or not), and the deleted leads.
    """
    campaign_ids = list(campaign_ids)
    pairs: dict[int, list[tuple[str, int]]] = defaultdict(list)
    rows = (
        MessageCount.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "status")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for campaign_id, status, n in rows:
        pairs[campaign_id].append((status, n))
    deleted = dict(
        Campaign.objects.filter(pk__in=campaign_ids)
        .annotate(
            n=Coalesce(
                Subquery(
                    _deleted_leads_of(None)
                    .values("account")
                    .annotate(n=Count("pk"))
                    .values("n")
                ),
                0,
            )
        )
        .values_list("pk", "n")
        .order_by()
    )
    counts = {}
    for campaign_id in campaign_ids:
        totals = rollup(pairs[campaign_id])
        totals[Bucket.DELETED_LEADS] = deleted.get(campaign_id, 0)
        counts[campaign_id] = totals
    return counts


def campaign_step_counts(
    *, campaign_ids: Iterable[int]
) -> dict[int, dict[int, dict[str, int]]]:
    """Count each sequence's current messages per step and bucket: one query on the count rows.

    Only campaigns with messages of more than one step are in the answer.
    """
    pairs: dict[int, dict[int, list[tuple[str, int]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    rows = (
        MessageCount.objects.filter(campaign_id__in=list(campaign_ids))
        .values_list("campaign_id", "step", "status")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for campaign_id, step, status, n in rows:
        pairs[campaign_id][step].append((status, n))
    return {
        campaign_id: {step: rollup(steps[step]) for step in sorted(steps)}
        for campaign_id, steps in pairs.items()
        if len(steps) > 1
    }


def _deleted_leads_of(campaign: Campaign | None) -> QuerySet[Lead]:
    """The campaign's deleted leads: part of its request at launch, deleted since.

    A lead counts when it was deleted after the launch and has a message in
    the campaign, or is on its lists and was skipped by the fan-out for being
    deleted (the seed 002 meaning). A lead deleted before the launch is not
    counted: the launch check names it. With campaign None, the queryset is
    a subquery for each campaign of the outer query. The candidates are the
    account's leads deleted since the launch (index lead_deleted_at), each
    checked against the unique (campaign, lead, attempt) index.
    """
    if campaign is not None and campaign.launched_at is None:
        return Lead.objects.none()
    if campaign is None:
        pk, account = OuterRef(OuterRef("pk")), OuterRef("account")
        launched, fanned_out = OuterRef("launched_at"), OuterRef("fanned_out_at")
    else:
        pk, account = campaign.pk, campaign.account_id
        launched = campaign.launched_at
        fanned_out = Value(campaign.fanned_out_at, output_field=DateTimeField())
    message = Message.objects.filter(campaign=pk, lead=OuterRef("pk"))
    listed = Lead.lists.through.objects.filter(
        lead=OuterRef("pk"), leadlist__campaigns=pk
    )
    # Until the fan-out ends, a deleted lead of the lists is one it will skip.
    skipped_by_fan_out = Q(
        Exists(listed),
        deleted_at__lte=Coalesce(
            fanned_out, Value(timezone.now(), output_field=DateTimeField())
        ),
    )
    return Lead.objects.filter(
        Q(Exists(message)) | skipped_by_fan_out,
        account=account,
        deleted_at__gte=launched,
    )


def campaign_held_counts(*, campaign_ids: Iterable[int]) -> dict[int, list[dict]]:
    """Each campaign's held messages (inside In-queue) by why: how many, released when.

    Read through the partial index of held messages (msg_held): a campaign's
    other queued messages are not read.
    """
    held: dict[int, list[dict]] = defaultdict(list)
    rows = (
        Message.objects.filter(campaign_id__in=list(campaign_ids), status=Status.QUEUED)
        .exclude(hold=Message.Hold.NONE)
        .values_list("campaign_id", "hold")
        .annotate(
            n=Count("id"), first=Min("next_attempt_at"), last=Max("next_attempt_at")
        )
        .order_by("campaign_id", "hold")
    )
    for campaign_id, hold, n, first, last in rows:
        held[campaign_id].append(
            {
                "label": Message.Hold(hold).label,
                "count": n,
                "first": first,
                "last": last,
            }
        )
    return dict(held)


def campaign_error_counts(*, campaign_ids: Iterable[int]) -> dict[int, list[dict]]:
    """List each campaign's errors by title, most frequent first, with their meaning."""
    rows = list(
        MessageCount.objects.filter(
            campaign_id__in=list(campaign_ids),
            status__in=statuses_in(Bucket.ERROR),
            error__isnull=False,
        )
        .values_list("campaign_id", "error_id")
        .annotate(n=Sum("count"))
        .filter(n__gt=0)
        .order_by()
    )
    errors = ErrorCode.objects.in_bulk({error_id for _, error_id, _ in rows})
    by_campaign: dict[int, list[dict]] = defaultdict(list)
    for campaign_id, error_id, n in rows:
        error = errors[error_id]
        by_campaign[campaign_id].append({"error": error, "count": n})
    for items in by_campaign.values():
        items.sort(key=lambda item: (-item["count"], item["error"].title))
    return dict(by_campaign)


def lead_list_for_bucket(*, campaign: Campaign, bucket: str):
    """Leads of a campaign whose current message is in the bucket, or its deleted leads."""
    if bucket == Bucket.DELETED_LEADS:
        return _deleted_leads_of(campaign)
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


@dataclass(frozen=True)
class LeadTimeline:
    """A lead's conversation: its newest entries, oldest first, and its latest error."""

    entries: list[dict]  # kind "message" (with its status's meaning) or "opt"
    last_error: ErrorCode | None
    advice: str | None  # what to do with the number, in the catalog's words


def lead_timeline(*, lead: Lead, opted_out: bool, limit: int) -> LeadTimeline:
    """Every message to and from the lead and every opt-out/opt-in, newest `limit` of them."""
    sms = list(lead_message_list(lead=lead)[:limit])
    events = list(
        OptOutEvent.objects.filter(account_id=lead.account_id, phone=lead.phone)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:limit]
    )
    timeline = [
        {
            "kind": "message",
            "at": m.created_at,
            "message": m,
            "meaning": STATUS_MEANING[m.status],
        }
        for m in sms
    ] + [{"kind": "opt", "at": e.created_at, "event": e} for e in events]
    # The newest entries, read as a conversation: oldest first.
    timeline.sort(key=lambda item: item["at"], reverse=True)
    last_error = next((m.error for m in sms if m.error_id), None)
    advice = None
    if opted_out:
        advice = number_advice_text(ErrorCode.NumberAdvice.OPTED_OUT)
    elif last_error is not None:
        advice = number_advice_text(last_error.number_advice)
    return LeadTimeline(
        entries=timeline[:limit][::-1], last_error=last_error, advice=advice
    )


def lead_opted_out() -> Exists:
    """Whether the outer lead's number is on its account's opt-out list (annotate with it)."""
    return Exists(
        OptOut.objects.filter(account=OuterRef("account"), phone=OuterRef("phone"))
    )


def lead_list_counts(*, lead_list_id: int) -> dict[str, int]:
    """A list's members in one query: all, opted out (not deleted), deleted (still members)."""
    return Lead.objects.filter(lists=lead_list_id).aggregate(
        members=Count("pk"),
        opted_out=Count("pk", filter=Q(lead_opted_out(), deleted_at__isnull=True)),
        deleted=Count("pk", filter=Q(deleted_at__isnull=False)),
    )


def lead_list_members(*, lead_list_id: int) -> QuerySet[Lead]:
    """A list's members, deleted ones too, newest first, each annotated opted_out."""
    return (
        Lead.objects.filter(lists=lead_list_id)
        .annotate(opted_out=lead_opted_out())
        .order_by("-created_at", "-pk")
    )


def lead_list_for_api(*, account_id: int, deleted: bool = False):
    """Live leads (deleted ones too if asked) with opt-out state and the advice of
    their latest error, lists prefetched."""
    latest_error = (
        Message.objects.filter(lead=OuterRef("pk"), error__isnull=False)
        .order_by("-created_at", "-pk")
        .values("error__number_advice")[:1]
    )
    leads = Lead.objects.filter(account_id=account_id)
    if not deleted:
        leads = leads.filter(deleted_at__isnull=True)
    return (
        leads.annotate(
            opted_out=Exists(
                OptOut.objects.filter(account_id=account_id, phone=OuterRef("phone"))
            ),
            number_advice=Subquery(latest_error),
        )
        .prefetch_related(Prefetch("lists", queryset=LeadList.objects.only("pk")))
        .order_by("-created_at", "-pk")
    )


def campaign_list_for_api(*, account_id: int):
    """The account's campaigns with their lists and steps prefetched, newest first."""
    return (
        Campaign.objects.filter(account_id=account_id)
        .prefetch_related(
            Prefetch("lists", queryset=LeadList.objects.only("pk")), "steps"
        )
        .order_by("-created_at", "-pk")
    )


def lead_import_list_for_api(*, account_id: int) -> QuerySet[LeadImport]:
    return LeadImport.objects.filter(account_id=account_id)


def leadlist_list_for_api(*, account_id: int) -> QuerySet[LeadList]:
    return LeadList.objects.filter(account_id=account_id)
