"""The Bulk Sequences dashboard widget: campaigns with their state and bucket counts."""

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.models import Campaign
from campaigns.pausing import PAUSE_VALIDITY
from campaigns.replies import inbox_list
from campaigns.selectors import (
    campaign_bucket_counts,
    campaign_error_counts,
    campaign_held_counts,
    campaign_list_for_accounts,
    campaign_step_counts,
    errors_by_title,
)
from messaging.statuses import BUCKET_MEANING, Bucket, Status, statuses_in
from portal.dashboard import Widget, widget_register
from portal.models import Account

WIDGET_CAMPAIGNS = 10  # rows on the dashboard; "All campaigns" links to the rest
WIDGET_REFRESH_SECONDS = 5  # while a listed campaign runs, as the campaign page does

# The widget's columns, in aNinja's order.
WIDGET_BUCKETS = [
    Bucket.IN_QUEUE,
    Bucket.OUTBOX,
    Bucket.SENT,
    Bucket.ERROR,
    Bucket.UNKNOWN,
    Bucket.CANCELED,
    Bucket.DELETED_LEADS,  # last: it counts leads, not messages
]

# Progress: the share of messages no longer waiting (queued or in the outbox).
SETTLED_BUCKETS = [Bucket.SENT, Bucket.ERROR, Bucket.UNKNOWN, Bucket.CANCELED]


STATE_MEANING = {
    Campaign.State.DRAFT: "Not launched yet: check and launch it from its page. "
    "A draft with a launch time (Scheduled) launches itself then; until then you "
    "can edit it or unschedule it.",
    Campaign.State.PROCESSING: "The system is preparing your bulk text for delivery.",
    Campaign.State.IN_PROGRESS: "The bulk text is on the way and reaches the "
    "recipients gradually. It stays in progress while carriers' receipts come in.",
    Campaign.State.DONE: "Every message has its final status, or {close} hours "
    "have passed since the last one was sent (some carriers never answer). Its "
    "result says All delivered, Partially received or All failed.",
    Campaign.State.CANCELED: "You canceled it. Messages not yet sent are counted "
    "under Canceled; what was already sent keeps its status.",
    Campaign.State.PAUSED: "Paused by staff or by the delivery monitor: its queued "
    "messages stay In-queue and are not sent until someone resumes it; receipts "
    "for what was sent still come in. " + PAUSE_VALIDITY,
}


def bulk_sequences_help() -> dict:
    """What the dashboard's "?" says about campaign states and the widget's columns."""
    close = f"{settings.PORTAL_CLOSE_WINDOW_HOURS:g}"
    return {
        "states": [
            {"label": state.label, "meaning": STATE_MEANING[state].format(close=close)}
            for state in Campaign.State
        ],
        "buckets": [
            {
                "label": bucket.label,
                "meaning": BUCKET_MEANING[bucket],
                "statuses": [Status(s).label for s in statuses_in(bucket)],
            }
            for bucket in WIDGET_BUCKETS
        ],
    }


def campaign_rows(*, campaigns: list[Campaign]) -> list[dict]:
    """Shape campaigns for the widget and the campaign page: a fixed number of queries."""
    ids = [c.pk for c in campaigns]
    counts = campaign_bucket_counts(campaign_ids=ids)
    errors = campaign_error_counts(campaign_ids=ids)
    by_step = campaign_step_counts(campaign_ids=ids)
    held = campaign_held_counts(campaign_ids=ids)
    rows = []
    for campaign in campaigns:
        totals = counts[campaign.pk]
        messages = sum(v for k, v in totals.items() if k != Bucket.DELETED_LEADS)
        settled = sum(totals[b] for b in SETTLED_BUCKETS)
        rows.append(
            {
                "campaign": campaign,
                "total": messages,
                "progress": round(100 * settled / messages) if messages else 0,
                "settled": settled,
                # A sequence's counts per step (the tooltips and the campaign page).
                "steps": [
                    {
                        "number": number,
                        "counts": [step_totals[b] for b in WIDGET_BUCKETS[:-1]],
                    }
                    for number, step_totals in by_step.get(campaign.pk, {}).items()
                ],
                "buckets": [
                    {
                        "key": bucket.value,
                        "label": bucket.label,
                        "count": totals[bucket],
                        "meaning": BUCKET_MEANING[bucket],
                        "errors": errors_by_title(errors.get(campaign.pk, []))
                        if bucket == Bucket.ERROR
                        else [],
                        "steps": [
                            (number, step_totals.get(bucket, 0))
                            for number, step_totals in by_step.get(
                                campaign.pk, {}
                            ).items()
                        ],
                        "held": held.get(campaign.pk, [])
                        if bucket == Bucket.IN_QUEUE
                        else [],
                    }
                    for bucket in WIDGET_BUCKETS
                ],
            }
        )
    return rows


def bulk_sequences_context(request: HttpRequest, accounts: QuerySet[Account]) -> dict:
    campaigns = list(
        campaign_list_for_accounts(account_ids=accounts)[: WIDGET_CAMPAIGNS + 1]
    )
    shown = campaigns[:WIDGET_CAMPAIGNS]
    running = any(c.is_running() for c in shown)
    return {
        "rows": campaign_rows(campaigns=shown),
        "more": len(campaigns) > WIDGET_CAMPAIGNS,
        "refresh": WIDGET_REFRESH_SECONDS if running else None,
        "bucket_headers": [
            {"label": b.label, "meaning": BUCKET_MEANING[b]} for b in WIDGET_BUCKETS
        ],
    }


def inbox_context(request: HttpRequest, accounts: QuerySet[Account]) -> dict:
    return {"waiting": inbox_list(account_ids=accounts).count()}


def register() -> None:
    widget_register(
        Widget(
            id="inbox",
            title="Inbox",
            template="campaigns/widgets/inbox.html",
            order=15,
            context=inbox_context,
            help_template="campaigns/widgets/inbox_help.html",
        )
    )
    widget_register(
        Widget(
            id="bulk_sequences",
            title="Bulk Sequences",
            template="campaigns/widgets/bulk_sequences.html",
            order=10,
            context=bulk_sequences_context,
            help_template="campaigns/widgets/bulk_sequences_help.html",
        )
    )
