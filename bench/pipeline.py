"""Pipeline throughput: one campaign from launch to its last receipt, on real workers.

    python bench/pipeline.py --leads 50000 --json

PostgreSQL (BENCH_PIPELINE_DATABASE_URL, by default its own database
portal_bench_pipeline, created, migrated and emptied), Redis (BENCH_PIPELINE_BROKER_URL,
by default database 10, emptied first) and one Celery worker with --workers
processes on every queue; the simulator answers at once. Launches a campaign
of --leads fresh leads from this process, waits until it is idle, and prints
messages_per_second from the launch to the last status event written, the
time to the first send (validation and fan-out), the rate from the first send
to the last receipt, the worker's CPU time per message, the buckets, duplicates_sent
(from the simulator's own send log; must be 0) and lost (must be 0).
Every limit is checked on the way, set high: quiet hours (the leads' zone is
where it is early afternoon), a brand's daily cap and a sender's texts a minute.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_pipeline"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/10"
TIMEOUT = 900  # seconds; far beyond any healthy run


def run(*, leads: int, workers: int, broker_url: str) -> dict:
    from bench.harness import campaign_run_on_worker

    measured = campaign_run_on_worker(
        leads=leads,
        workers=workers,
        broker_url=broker_url,
        timeout=TIMEOUT,
        quiet_hours=True,
        prepare=_limits_in_the_path,
    )
    report = measured.report
    sending = measured.seconds - measured.first_send_after
    return {
        "leads": leads,
        "workers": workers,
        "messages_per_second": round(leads / measured.seconds),
        "seconds": report.seconds,
        "first_send_after": round(measured.first_send_after, 2),
        "sending_messages_per_second": round(leads / sending),
        "worker_cpu_ms_per_message": round(
            1000 * measured.worker_cpu_seconds / leads, 2
        ),
        "buckets": report.buckets,
        "charged": report.charged,
        "duplicates_sent": report.duplicates_sent,
        "lost": report.lost,
    }


def _limits_in_the_path(campaign) -> None:
    """Run every limit's check with limits set high: quiet hours, a minute's and a day's cap.

    The leads live where it is now early afternoon, so their window is open
    whenever the bench runs; the brand's cap and the sender's texts a minute
    are far above what the campaign sends.
    """
    from django.utils import timezone

    from campaigns.models import Lead
    from messaging.models import Brand, Sender

    offset = 13 - timezone.now().hour  # UTC+offset is at 13:00 now
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"  # POSIX signs are inverted
    Lead.objects.filter(account_id=campaign.account_id).update(time_zone=zone)
    brand = Brand.objects.create(
        account_id=campaign.account_id, name="Bench", daily_limit=100_000_000
    )
    sender = Sender.objects.get(pk=campaign.sender_id)
    sender.brand = brand
    sender.message_class = "A"
    sender.per_minute_limit = 60 * sender.throughput_per_second
    sender.save()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    from bench.harness import bench_ready, result_print

    broker_url = bench_ready(
        database_variable="BENCH_PIPELINE_DATABASE_URL",
        database_url=DEFAULT_DATABASE_URL,
        broker_variable="BENCH_PIPELINE_BROKER_URL",
        broker_url=DEFAULT_BROKER_URL,
    )
    from django.core.management import call_command

    # Every run starts from an empty database: a table grown by earlier runs
    # would move the figures as much as the code does.
    call_command("flush", interactive=False, verbosity=0)
    result = run(leads=args.leads, workers=args.workers, broker_url=broker_url)
    result_print(result, as_json=args.json, width=20)


if __name__ == "__main__":
    main()
