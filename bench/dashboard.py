"""Benchmark: the dashboard's server time with millions of messages on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench \\
        python bench/dashboard.py --messages 10000000 --json

Builds the data with COPY (10% of the messages in the viewed account, over 200
campaigns; the rest spread over other accounts); the triggers on the message
table write the count rows as the COPY runs. Then renders the dashboard logged
in with the Bulk Sequences widget on, and prints the median render time, its
query count, the time of the raw grouped SQL over the viewed account's
messages, and whether every bucket count equals that SQL, in the same run.
The database is created if it is missing and rebuilt when --rebuild is given
or the message count differs.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

CAMPAIGNS = 200  # campaigns in the viewed account
OTHER_ACCOUNTS = 9  # the other 90% of the messages belong to these
VIEWED_SHARE = 0.1
# A realistic spread over the statuses, so that every bucket has rows.
STATUS_CYCLE = (
    ["delivered"] * 70
    + ["sent"] * 8
    + ["undelivered"] * 6
    + ["failed"] * 2
    + ["rejected"] * 2
    + ["unknown"] * 5
    + ["queued"] * 5
    + ["expired", "canceled"]
)


def build(messages: int) -> dict:
    """Create the accounts, campaigns and messages; return the viewed account's ids."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from messaging.models import ErrorCode, Message
    from portal.models import Account, Membership

    now = timezone.now()
    viewed = Account.objects.create(name="Viewed", slug="bench-viewed")
    others = [
        Account.objects.create(name=f"Other {n}", slug=f"bench-other-{n}")
        for n in range(OTHER_ACCOUNTS)
    ]
    user = get_user_model().objects.create_user("bench", password="bench")
    Membership.objects.create(user=user, account=viewed)
    campaigns = Campaign.objects.bulk_create(
        [
            Campaign(
                account=viewed,
                name=f"Campaign {n}",
                state="in_progress",
                launched_at=now,
                created_at=now - timedelta(minutes=n),
            )
            for n in range(CAMPAIGNS)
        ]
        + [
            Campaign(account=account, name=f"Other {n}", state="in_progress")
            for account in others
            for n in range(CAMPAIGNS)
        ]
    )
    viewed_campaigns = [c.pk for c in campaigns[:CAMPAIGNS]]
    other_campaigns = [(c.account_id, c.pk) for c in campaigns[CAMPAIGNS:]]
    errors = list(
        ErrorCode.objects.filter(status="undelivered").values_list("pk", flat=True)[:8]
    ) or [None]

    fields = [f for f in Message._meta.concrete_fields if f.column != "id"]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    defaults = {f.column: f.get_default() if f.has_default() else None for f in fields}
    viewed_count = int(messages * VIEWED_SHARE)
    start = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor: COPY from Python rows
        with raw.copy(f"COPY messaging_message ({columns}) FROM STDIN") as copy:
            for n in range(messages):
                if n < viewed_count:
                    account_id, campaign_id = viewed.pk, viewed_campaigns[n % CAMPAIGNS]
                else:
                    account_id, campaign_id = other_campaigns[n % len(other_campaigns)]
                # Every campaign gets the whole spread (n % CAMPAIGNS picks the campaign).
                status = STATUS_CYCLE[(n // CAMPAIGNS) % len(STATUS_CYCLE)]
                row = dict(defaults)
                row.update(
                    created_at=now,
                    updated_at=now,
                    uuid=uuid.uuid4(),
                    account_id=account_id,
                    campaign_id=campaign_id,
                    phone=f"+1202{n:07d}"[:16],
                    body="Hello",
                    status=status,
                    provider="simulator",
                    provider_status="",
                    error_id=errors[n % len(errors)]
                    if status == "undelivered"
                    else None,
                    sent_at=now
                    if status not in ("queued", "rejected", "canceled")
                    else None,
                    final_at=now
                    if status not in ("queued", "sent", "unknown")
                    else None,
                )
                copy.write_row([row[f.column] for f in fields])
    copy_seconds = time.perf_counter() - start
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message, messaging_messagecount")
    return {
        "account_id": viewed.pk,
        "user_id": user.pk,
        "copy_seconds": round(copy_seconds, 1),
    }


def measure(account_id: int, user_id: int, runs: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(get_user_model().objects.get(pk=user_id))
    client.get("/")  # warm caches and the connection
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get("/")
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as ctx:
        client.get("/")
    sql = (
        "SELECT campaign_id, status, count(*) FROM messaging_message "
        "WHERE account_id = %s AND superseded = false GROUP BY 1, 2"
    )
    raw = []
    with connection.cursor() as cursor:
        for _ in range(max(3, runs // 4)):
            start = time.perf_counter()
            cursor.execute(sql, [account_id])
            grouped = cursor.fetchall()
            raw.append(time.perf_counter() - start)
        cursor.execute("SELECT count(*) FROM messaging_messagecount")
        count_rows = cursor.fetchone()[0]
    return {
        "dashboard_median_ms": round(1000 * statistics.median(times), 1),
        "dashboard_queries": len(ctx.captured_queries),
        "grouped_sql_median_ms": round(1000 * statistics.median(raw), 1),
        "counts_exact": counts_exact(grouped),
        "count_rows": count_rows,
    }


def counts_exact(grouped: list[tuple[int, str, int]]) -> bool:
    """Say whether the widget's bucket counts equal the raw grouped SQL, campaign by campaign."""
    from collections import defaultdict

    from campaigns.selectors import campaign_bucket_counts
    from messaging.statuses import Bucket, rollup

    pairs = defaultdict(list)
    for campaign_id, status, n in grouped:
        pairs[campaign_id].append((status, n))
    shown = campaign_bucket_counts(campaign_ids=pairs)
    return all(
        {**rollup(pairs[pk]), Bucket.DELETED_LEADS: totals[Bucket.DELETED_LEADS]}
        == totals
        for pk, totals in shown.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    from bench.harness import database_ready

    database_ready(url)
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False

    from messaging.models import Message
    from portal.models import Account

    viewed = Account.objects.filter(slug="bench-viewed").first()
    if args.rebuild or viewed is None or Message.objects.count() != args.messages:
        call_command("flush", interactive=False, verbosity=0)
        built = build(args.messages)
    else:
        built = {
            "account_id": viewed.pk,
            "user_id": viewed.memberships.get().user_id,
            "copy_seconds": None,
        }
    from portal.models import DashboardPreference

    DashboardPreference.objects.filter(user_id=built["user_id"]).delete()
    everything = measure(built["account_id"], built["user_id"], args.runs)
    # The target is the Bulk Sequences widget on: measure it alone too.
    DashboardPreference.objects.create(
        user_id=built["user_id"], hidden_widgets=["recent_errors", "credit"]
    )
    alone = measure(built["account_id"], built["user_id"], args.runs)
    DashboardPreference.objects.filter(user_id=built["user_id"]).delete()
    result = {
        "messages": args.messages,
        "viewed_account_messages": int(args.messages * VIEWED_SHARE),
        "campaigns": CAMPAIGNS,
        **built,
        **everything,
        "bulk_sequences_only_median_ms": alone["dashboard_median_ms"],
        "bulk_sequences_only_queries": alone["dashboard_queries"],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>26}: {value}")


if __name__ == "__main__":
    main()
