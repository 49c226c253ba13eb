"""Production size: a 200k-lead campaign end to end on a table of 10M messages.

    python bench/scale.py --json                      # 10M messages, 200k leads
    python bench/scale.py --messages 1000000 --leads 20000 --json   # a quick check

PostgreSQL (BENCH_SCALE_DATABASE_URL, by default its own database perf_scale,
created and migrated) and Redis (BENCH_SCALE_BROKER_URL, by default database 7,
emptied first). The first run builds the history with COPY: --messages
messages over 100 accounts of 20 campaigns each (2,000 campaigns), spread over
90 days, almost all final, a tenth of them in the biggest account; later runs
reuse it while its size matches (--rebuild builds it again). Each run then
ANALYZEs (statistics now say almost nothing is queued, the claim's trap),
starts one Celery worker with --workers processes, launches a fresh campaign
of --leads leads and, while it runs, times the dashboard and the SMS log's
first page for the biggest account's member, and EXPLAIN ANALYZEs the
dispatcher's claim of a batch of queued ids (read-only: without its row
locks, so the workers are not disturbed). Prints, as JSON: fan-out rows/s,
end-to-end messages/s, the claim's time per batch and its plan, receipts
applied per second, the two pages' median and 90th percentile, duplicates
sent and lost messages (both must be 0), and the machine's load.
"""

import argparse
import json
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/perf_scale"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/7"
ACCOUNTS = 100
CAMPAIGNS_PER_ACCOUNT = 20  # 2,000 campaigns
BIGGEST_SHARE = 10  # one message in 10 is the biggest account's
HISTORY_DAYS = 90
COPY_CHUNK = 500_000  # rows per COPY statement (and per trigger's transition table)
TIMEOUT = 1800  # seconds; far beyond any healthy run
CLAIM_SAMPLES = 10
# Old messages are settled: almost all final, a few still waiting for a receipt.
HISTORY_STATUSES = (
    ["delivered"] * 88
    + ["undelivered"] * 4
    + ["failed", "rejected", "expired", "canceled"]
    + ["unknown"] * 2
)
SENT = {"delivered", "undelivered", "unknown"}
FINAL = {"delivered", "undelivered", "failed", "rejected", "expired", "canceled"}


def history_size() -> int:
    """Messages of the built history (0 if none), read off the count rows: no scan."""
    from django.db.models import Sum

    from messaging.models import MessageCount

    return (
        MessageCount.objects.filter(account__slug__startswith="scale-").aggregate(
            n=Sum("count")
        )["n"]
        or 0
    )


def build(messages: int) -> None:
    """Write the accounts, campaigns and messages; ANALYZE at the end."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from messaging.models import ErrorCode, Message, Sender
    from portal.models import Account, Membership

    now = timezone.now()
    accounts = Account.objects.bulk_create(
        Account(name=f"Scale {n}", slug=f"scale-{n}", credit_balance=10**9)
        for n in range(ACCOUNTS)
    )
    user = get_user_model().objects.create_user("scale", password="scale")
    Membership.objects.create(user=user, account=accounts[0])
    senders = Sender.objects.bulk_create(
        Sender(account=a, provider="simulator", phone_number="+15550100001")
        for a in accounts
    )
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            account=a,
            name=f"History {n}",
            state="done",
            result="partial",
            done_at=now,
            fanned_out_at=now,
            sender=senders[i],
            body="Hello",
            launched_at=now,
        )
        for i, a in enumerate(accounts)
        for n in range(CAMPAIGNS_PER_ACCOUNT)
    )
    errors = list(
        ErrorCode.objects.filter(provider="twilio", status="undelivered").values_list(
            "pk", flat=True
        )[:8]
    )
    rejected = ErrorCode.objects.filter(status="rejected").values_list("pk", flat=True)
    error_of = {"undelivered": errors, "failed": errors, "rejected": list(rejected)[:2]}
    error_of["expired"] = error_of["canceled"] = [None]

    fields = [f for f in Message._meta.concrete_fields if f.column != "id"]
    defaults = {f.column: f.get_default() for f in fields}
    start = now - timedelta(days=HISTORY_DAYS)
    step = timedelta(days=HISTORY_DAYS) / messages

    def row(n: int) -> list:
        # One message in BIGGEST_SHARE is the biggest account's; the others take
        # turns. Each campaign covers a stretch of the 90 days.
        if n % BIGGEST_SHARE == 0:
            account = 0
        else:
            account = 1 + (n // BIGGEST_SHARE) % (ACCOUNTS - 1)
        stretch = n * CAMPAIGNS_PER_ACCOUNT // messages
        campaign = campaigns[account * CAMPAIGNS_PER_ACCOUNT + stretch]
        status = HISTORY_STATUSES[n % len(HISTORY_STATUSES)]
        created = start + n * step
        choices = error_of.get(status, [None])
        values = dict(defaults)
        values.update(
            created_at=created,
            updated_at=created,
            uuid=uuid.uuid4(),
            account_id=campaign.account_id,
            campaign_id=campaign.pk,
            sender_id=campaign.sender_id,
            phone=f"+1202{(n * 7919) % 10_000_000:07d}",
            body="Hello",
            status=status,
            provider="simulator",
            provider_message_id=f"SMH{n:032x}" if status in SENT else None,
            error_id=choices[n % len(choices)],
            billed=status in SENT,
            expires_at=created + timedelta(hours=16),
            sent_at=created if status in SENT else None,
            final_at=created if status in FINAL else None,
        )
        return [values[f.column] for f in fields]

    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    for first in range(0, messages, COPY_CHUNK):
        with connection.cursor() as cursor:
            with cursor.cursor.copy(
                f"COPY messaging_message ({columns}) FROM STDIN"
            ) as copy:
                for n in range(first, min(first + COPY_CHUNK, messages)):
                    copy.write_row(row(n))
        print(f"built {min(first + COPY_CHUNK, messages)}", file=sys.stderr)
    from messaging.counts import message_counts_squash

    message_counts_squash()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


def explain(queryset) -> dict:
    """EXPLAIN ANALYZE a read: its time and its scans, as (node, index or table)."""
    from django.db import connection

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def scans(node: dict) -> list[str]:
        found = []
        if "Scan" in node["Node Type"]:
            name = node.get("Index Name") or node.get("Relation Name")
            found.append(f"{node['Node Type']} on {name}")
        for child in node.get("Plans", []):
            found += scans(child)
        return found

    top = plan[0]["Plan"]
    return {
        "ms": plan[0]["Execution Time"],
        "scans": scans(top),
        "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0),
    }


class Sampler(threading.Thread):
    """While the campaign runs: the biggest account's two pages, and the claim's plan.

    The claim is read as the dispatcher reads it (messages_claim_read) for a
    batch of the campaign's queued ids, without its row locks; beside it the
    same read filtered on status as the claim was before, to show what
    statistics taken with nothing queued make of it.
    """

    def __init__(self, *, user_id: int, campaign_id: int) -> None:
        super().__init__(daemon=True)
        self.user_id, self.campaign_id = user_id, campaign_id
        self.stop = threading.Event()
        self.pages: dict[str, list[float]] = {"dashboard": [], "sms_log": []}
        self.claims: list[dict] = []
        self.by_status: list[dict] = []
        self.fanned_out: float | None = None

    def run(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        try:
            client = Client()
            client.force_login(get_user_model().objects.get(pk=self.user_id))
            while not self.stop.is_set():
                for name, path in (
                    ("dashboard", "/"),
                    ("sms_log", "/messaging/message/"),
                ):
                    started = time.perf_counter()
                    assert client.get(path).status_code == 200
                    self.pages[name].append(time.perf_counter() - started)
                self.sample_claim()
                time.sleep(0.2)
        finally:
            connection.close()

    def sample_claim(self) -> None:
        from django.utils import timezone

        from campaigns.models import Campaign
        from messaging.dispatch import SEND_BATCH_SIZE, messages_claim_read
        from messaging.models import Message
        from messaging.statuses import Status

        if (
            self.fanned_out is None
            and Campaign.objects.filter(
                pk=self.campaign_id, fanned_out_at__isnull=False
            ).exists()
        ):
            self.fanned_out = time.time()
        queued = Message.objects.filter(
            campaign_id=self.campaign_id, status=Status.QUEUED
        ).values_list("pk", flat=True)
        ids = list(queued.order_by("-pk")[:SEND_BATCH_SIZE])
        if len(ids) < SEND_BATCH_SIZE:
            return
        claim = messages_claim_read(message_ids=ids)
        self.claims.append(explain(claim))
        self.by_status.append(
            explain(claim.filter(status=Status.QUEUED, expires_at__gt=timezone.now()))
        )


def run(*, leads: int, workers: int, broker_url: str) -> dict:
    from bench.harness import campaign_run_on_worker
    from portal.models import Account

    member_id = Account.objects.get(slug="scale-0").memberships.get().user_id
    samplers: list[Sampler] = []

    @contextmanager
    def sampling(campaign_id: int) -> Iterator[None]:
        """The biggest account's pages and the claim, sampled while the campaign runs."""
        sampler = Sampler(user_id=member_id, campaign_id=campaign_id)
        samplers.append(sampler)
        sampler.start()
        try:
            yield
        finally:
            sampler.stop.set()
            sampler.join()

    measured = campaign_run_on_worker(
        leads=leads,
        workers=workers,
        broker_url=broker_url,
        timeout=TIMEOUT,
        watch=sampling,
    )
    report = measured.report
    sampler = samplers[0]
    fan_out_seconds = (sampler.fanned_out or time.time()) - measured.started.timestamp()

    def spread(values: list[float]) -> dict:
        if not values:
            return {}
        values = sorted(values)
        return {
            "median_ms": round(1000 * statistics.median(values), 1),
            "p90_ms": round(1000 * values[int(0.9 * (len(values) - 1))], 1),
            "samples": len(values),
        }

    def claims(samples: list[dict]) -> dict:
        if not samples:
            return {}
        return {
            "median_ms": round(statistics.median(s["ms"] for s in samples), 2),
            "max_ms": round(max(s["ms"] for s in samples), 2),
            "median_buffers": statistics.median(s["buffers"] for s in samples),
            "plan": sorted({scan for s in samples for scan in s["scans"]}),
            "samples": len(samples),
        }

    return {
        "leads": leads,
        "workers": workers,
        "fan_out_rows_per_second": round(leads / fan_out_seconds),
        "messages_per_second": round(leads / measured.seconds),
        "seconds": round(measured.seconds, 1),
        "first_send_after": round(measured.first_send_after, 2),
        "receipts_applied_per_second": round(
            measured.receipts / measured.receipt_seconds
        ),
        "claim_per_batch": claims(sampler.claims),
        "claim_if_filtered_by_status": claims(sampler.by_status),
        "biggest_account_dashboard": spread(sampler.pages["dashboard"]),
        "biggest_account_sms_log_first_page": spread(sampler.pages["sms_log"]),
        "buckets": report.buckets,
        "duplicates_sent": report.duplicates_sent,
        "lost": report.lost,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from bench.harness import bench_ready, result_print

    broker_url = bench_ready(
        database_variable="BENCH_SCALE_DATABASE_URL",
        database_url=DEFAULT_DATABASE_URL,
        broker_variable="BENCH_SCALE_BROKER_URL",
        broker_url=DEFAULT_BROKER_URL,
    )
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False
    load_before = os.getloadavg()
    build_seconds = None
    if args.rebuild or history_size() != args.messages:
        call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        build(args.messages)
        build_seconds = round(time.perf_counter() - started)
    result = run(leads=args.leads, workers=args.workers, broker_url=broker_url)
    result = {
        "history_messages": args.messages,
        "build_seconds": build_seconds,
        **result,
        "load_before": [round(n, 1) for n in load_before],
        "load_after": [round(n, 1) for n in os.getloadavg()],
    }
    result_print(result, as_json=args.json, width=36)


if __name__ == "__main__":
    main()
