"""Benchmark: a full CSV export of an account's messages on PostgreSQL, rows/s and peak RSS.

    python bench/export.py --messages 1000000 --json

Builds one account with that many messages (COPY; one lead per message, 50
campaigns, a tenth of them failed with catalog errors) in its own database
(BENCH_EXPORT_DATABASE_URL, by default portal_bench_export, created if missing,
rebuilt when --rebuild is given or the count differs). Then, each in a fresh
child process so that peak RSS is the export's alone, it runs the export task's
service (message_export_run: the file under a temporary MEDIA_ROOT, progress
saved every second) and the streamed download (message_export_pieces, read
and dropped), and prints rows per second, seconds, the process's CPU seconds,
peak RSS and the CSV's size.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_export"
CAMPAIGNS = 50
ACCOUNT_SLUG = "bench-export"
# A realistic spread: mostly delivered, a tenth failed with an error to explain.
STATUS_CYCLE = (
    ["delivered"] * 80
    + ["sent"] * 5
    + ["undelivered"] * 8
    + ["failed"] * 2
    + ["unknown"] * 3
    + ["queued"] * 2
)
BODY = "Hi {name}, our Sunday service starts at 10am. Reply STOP to opt out."


def _copy(cursor, model, rows) -> None:
    """COPY rows (dicts by column) into the model's table; unset columns get defaults."""
    fields = [f for f in model._meta.concrete_fields if f.column != "id"]
    defaults = {f.column: f.get_default() for f in fields}
    columns = ", ".join(f'"{f.column}"' for f in fields)
    with cursor.copy(f"COPY {model._meta.db_table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = defaults | row
            copy.write_row([values[f.column] for f in fields])


def build(messages: int) -> float:
    """Create the account, its campaigns, one lead per message and the messages."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign, Lead
    from messaging.models import ErrorCode, Message, Sender
    from portal.models import Account

    now = timezone.now()
    account = Account.objects.create(name="Bench export", slug=ACCOUNT_SLUG)
    sender = Sender.objects.create(
        account=account, provider="simulator", phone_number="+15550100000"
    )
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            account=account,
            sender=sender,
            name=f"Sunday service {n}",
            state="in_progress",
            launched_at=now,
        )
        for n in range(CAMPAIGNS)
    )
    errors = list(
        ErrorCode.objects.filter(status="undelivered").values_list("pk", flat=True)[:12]
    )
    start = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3: COPY from Python rows
        _copy(
            raw,
            Lead,
            (
                {
                    "account_id": account.pk,
                    "phone": f"+1202{n:07d}",
                    "first_name": f"First{n % 997}",
                    "last_name": f"Last{n % 991}",
                    "fields": "{}",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(messages)
            ),
        )
        first_lead = Lead.objects.filter(account=account).order_by("pk").first().pk
        _copy(
            raw,
            Message,
            (
                _message(n, now, account.pk, campaigns, sender.pk, first_lead, errors)
                for n in range(messages)
            ),
        )
        cursor.execute("ANALYZE")
    return time.perf_counter() - start


def _message(n, now, account_id, campaigns, sender_id, first_lead, errors) -> dict:
    status = STATUS_CYCLE[n % len(STATUS_CYCLE)]
    return {
        "created_at": now,
        "updated_at": now,
        "uuid": uuid.uuid4(),
        "account_id": account_id,
        "campaign_id": campaigns[n % CAMPAIGNS].pk,
        "lead_id": first_lead + n,
        "sender_id": sender_id,
        "phone": f"+1202{n:07d}",
        "body": BODY.format(name=f"First{n % 997}"),
        "segments": 1,
        "status": status,
        "provider": "simulator",
        "provider_status": status,
        "error_id": errors[n % len(errors)] if status == "undelivered" else None,
        "billed": status != "queued",
        "sent_at": now if status != "queued" else None,
        "final_at": now if status in ("delivered", "undelivered", "failed") else None,
    }


def measure(mode: str) -> dict:
    """Run one full export in this process (a child); report its speed and peak RSS."""
    from django.conf import settings

    from messaging.export_jobs import message_export_run
    from messaging.exports import message_export_pieces
    from messaging.models import Message, MessageExport
    from portal.models import Account

    account = Account.objects.get(slug=ACCOUNT_SLUG)
    with tempfile.TemporaryDirectory() as media:
        settings.MEDIA_ROOT = media
        start = time.perf_counter()
        if mode == "file":
            export = MessageExport.objects.create(account=account)
            export = message_export_run(export_id=export.pk)
            assert export.status == MessageExport.Status.DONE, export.failure_reason
            rows, size = export.rows_done, Path(export.file.path).stat().st_size
        else:
            rows, size = 0, 0
            messages = Message.objects.filter(account=account)
            for done, piece in message_export_pieces(messages):
                rows, size = done, size + len(piece)
        seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "rows": rows,
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        # This process's own CPU, start-up included: on a busy machine the wall
        # time also counts waiting for a core; the database's work is not in it.
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),
        "csv_mb": round(size / 1024 / 1024),
    }


def child(mode: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", mode],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", choices=["file", "stream"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    url = os.environ.get("BENCH_EXPORT_DATABASE_URL", DEFAULT_DATABASE_URL)
    if args.measure:  # the child process that measures one kind of export
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        print(json.dumps(measure(args.measure)))
        return

    from bench.harness import database_ready

    database_ready(url)
    from django.core.management import call_command

    from messaging.models import Message
    from portal.models import Account

    built = Account.objects.filter(slug=ACCOUNT_SLUG).exists()
    copy_seconds = None
    if args.rebuild or not built or Message.objects.count() != args.messages:
        # flush's post_migrate signal writes the error catalog back.
        call_command("flush", interactive=False, verbosity=0)
        copy_seconds = round(build(args.messages), 1)
    result = {
        "messages": args.messages,
        "copy_seconds": copy_seconds,
        "file": child("file"),
        "stream": child("stream"),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")


if __name__ == "__main__":
    main()
