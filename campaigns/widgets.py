"""The Bulk Sequences dashboard widget: campaigns with their state and bucket counts."""

from django.db.models import QuerySet
from django.http import HttpRequest

from campaigns.models import Campaign
from campaigns.selectors import (
    campaign_bucket_counts,
    campaign_error_counts,
    campaign_list_for_accounts,
    errors_by_title,
)
from messaging.statuses import BUCKET_MEANING, Bucket
from portal.dashboard import Widget, widget_register
from portal.models import Account

WIDGET_CAMPAIGNS = 10  # rows on the dashboard; "All campaigns" links to the rest

# The widget's columns, in aNinja's order.
WIDGET_BUCKETS = [
    Bucket.IN_QUEUE,
    Bucket.OUTBOX,
    Bucket.SENT,
    Bucket.ERROR,
    Bucket.UNKNOWN,
    Bucket.DELETED_LEADS,
]

# Progress: the share of messages no longer waiting (queued or in the outbox).
SETTLED_BUCKETS = [Bucket.SENT, Bucket.ERROR, Bucket.UNKNOWN, Bucket.CANCELED]


def campaign_rows(*, campaigns: list[Campaign]) -> list[dict]:
    """Shape campaigns for the widget and the campaign page: a fixed number of queries."""
    ids = [c.pk for c in campaigns]
    counts = campaign_bucket_counts(campaign_ids=ids)
    errors = campaign_error_counts(campaign_ids=ids)
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
                "buckets": [
                    {
                        "key": bucket.value,
                        "label": bucket.label,
                        "count": totals[bucket],
                        "meaning": BUCKET_MEANING[bucket],
                        "errors": errors_by_title(errors.get(campaign.pk, []))
                        if bucket == Bucket.ERROR
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
    return {
        "rows": campaign_rows(campaigns=campaigns[:WIDGET_CAMPAIGNS]),
        "more": len(campaigns) > WIDGET_CAMPAIGNS,
        "bucket_headers": [
            {"label": b.label, "meaning": BUCKET_MEANING[b]} for b in WIDGET_BUCKETS
        ],
    }


def register() -> None:
    widget_register(
        Widget(
            id="bulk_sequences",
            title="Bulk Sequences",
            template="campaigns/widgets/bulk_sequences.html",
            order=10,
            context=bulk_sequences_context,
        )
    )
