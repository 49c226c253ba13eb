"""The message table's indexes at work: each product query's plan and time on the scale database.

    python bench/indexes.py --json     # after bench/scale.py built its database

Runs EXPLAIN ANALYZE (read-only) of every query that reads messages by
something other than the primary key, as the product builds it, against the
database bench/scale.py builds (BENCH_SCALE_DATABASE_URL, by default
perf_scale; 10M messages): the SMS log, the API's lists and export chunks,
a lead's history, the drill-down, the sweeps, the receipts' lookups, the
dispatcher's claim and the count rows. Prints, per query, its time in ms, the
buffers it touched and the scans of its plan (node on index or table), so that
each index in messaging/models.py shows the query that needs it.
"""

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")


def queries() -> dict:
    """Name -> queryset, each built by the code that runs it (or as it does)."""
    from django.utils import timezone

    from campaigns.models import Campaign
    from campaigns.replies import inbox_list
    from campaigns.selectors import campaign_message_list_for_bucket
    from messaging.dispatch import messages_claim_read
    from messaging.models import Message, MessageCount
    from messaging.selectors import message_list_for_api
    from messaging.statuses import Bucket, Status, statuses_in
    from portal.models import Account

    now = timezone.now()
    account = Account.objects.get(slug="scale-0")
    campaign = Campaign.objects.filter(account=account).order_by("-pk").first()
    newest = Message.objects.filter(account=account).order_by("-pk").first()
    some = list(
        Message.objects.filter(account=account)
        .exclude(provider_message_id=None)
        .order_by("-pk")
        .values_list("pk", "uuid", "provider_message_id")[:500]
    )
    return {
        # msg_account_created_id
        "sms_log_first_page": Message.objects.filter(account=account)
        .select_related("error", "campaign")
        .order_by("-created_at", "-pk")[:51],
        # primary key (the API pages by id, newest first)
        "api_messages_first_page": message_list_for_api(account_id=account.pk).order_by(
            "-id"
        )[:101],
        # msg_account_updated
        "api_messages_updated_after": message_list_for_api(account_id=account.pk)
        .filter(updated_at__gt=now - timedelta(days=1))
        .order_by("-id")[:101],
        # primary key, then msg_account_created_id's account
        "export_chunk": Message.objects.filter(account=account, pk__gt=0).order_by(
            "pk"
        )[:10_000],
        # msg_account_phone
        "lead_history": Message.objects.filter(
            account=account, phone=newest.phone
        ).order_by("-created_at", "-pk"),
        # msg_inbound_account_created, then msg_account_phone for each text
        "inbox_first_page": inbox_list(account_ids=[account.pk])[:50],
        # msg_campaign_status
        "drill_down_error_bucket": campaign_message_list_for_bucket(
            campaign=campaign, bucket=Bucket.ERROR
        )[:50],
        "campaign_cancel_queued": Message.objects.filter(
            campaign=campaign, status=Status.QUEUED
        ),
        # msg_queued_expires
        "sweep_expire": Message.objects.filter(
            status=Status.QUEUED,
            expires_at__lt=now,
            status__in=statuses_in(Bucket.IN_QUEUE),
        ).order_by("pk")[:1000],
        "sweep_requeue_due": Message.objects.filter(
            status=Status.QUEUED, expires_at__gt=now
        )
        .exclude(next_attempt_at__gt=now)
        .filter(updated_at__lt=now - timedelta(minutes=2))
        .values_list("pk", flat=True)[:50_000],
        # msg_sent_sent_at
        "sweep_mark_unknown": Message.objects.filter(
            status=Status.SENT, sent_at__lt=now - timedelta(hours=72)
        ).order_by("pk")[:1000],
        # msg_sending_claimed
        "sweep_release_stuck": Message.objects.filter(
            status=Status.SENDING, claimed_at__lt=now - timedelta(minutes=10)
        ),
        # msg_unique_provider_id
        "receipts_by_provider_id": Message.objects.filter(
            provider="simulator", provider_message_id__in=[s[2] for s in some]
        ).values_list("provider_message_id", "pk"),
        # messaging_message_uuid_key
        "receipts_by_uuid": Message.objects.filter(
            uuid__in=[s[1] for s in some]
        ).values_list("uuid", "pk"),
        # primary key
        "dispatch_claim": messages_claim_read(message_ids=[s[0] for s in some]),
        # msgcount_campaign
        "counts_campaign_buckets": MessageCount.objects.filter(
            campaign_id__in=list(
                Campaign.objects.filter(account=account).values_list("pk", flat=True)
            )
        ).values_list("campaign_id", "status", "count"),
        # msgcount_account_day
        "counts_recent_errors": MessageCount.objects.filter(
            account=account,
            day__gte=now.date() - timedelta(days=6),
            status__in=statuses_in(Bucket.ERROR),
        ).values_list("error_id", "count"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/perf_scale"
    )
    import django

    django.setup()
    from bench.scale import explain

    result = {name: explain(queryset) for name, queryset in queries().items()}
    if args.json:
        print(json.dumps(result))
        return
    for name, plan in result.items():
        print(f"{name:>28}: {plan['ms']:8.2f} ms {plan['buffers']:>6} buffers")
        print(f"{'':>30}{'; '.join(plan['scans'])}")


if __name__ == "__main__":
    main()
