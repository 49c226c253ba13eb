"""What the benchmarks share: their own PostgreSQL database, a campaign on a real worker.

Imported by the scripts in bench/ (each puts the repository on sys.path first);
nothing in the portal imports it.
"""

import json
import os
import resource
import shutil
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaigns.management.demo_run import DemoReport
    from campaigns.models import Campaign


def database_create(url: str) -> None:
    """Create the PostgreSQL database of url if it does not exist yet."""
    import psycopg
    from psycopg import sql

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(
                sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            )


def database_ready(url: str) -> None:
    """Set Django up on the PostgreSQL database of url, created and migrated if need be."""
    if not url.startswith("postgres"):
        sys.exit(f"Not a PostgreSQL URL: {url!r}; use postgres://user@host:port/name")
    os.environ["DATABASE_URL"] = url
    database_create(url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bench_ready(
    *, database_variable: str, database_url: str, broker_variable: str, broker_url: str
) -> str:
    """Point Django at the bench's own database and broker (each overridable by its
    variable), set it up and return the broker's URL."""
    broker = os.environ.get(broker_variable, broker_url)
    os.environ["CELERY_BROKER_URL"] = broker
    database_ready(os.environ.get(database_variable, database_url))
    return broker


def result_print(result: dict, *, as_json: bool, width: int) -> None:
    """One JSON object, or one `key: value` line per figure."""
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>{width}}: {value}")


@dataclass(frozen=True)
class WorkerRun:
    """A campaign run on a real worker, from its launch to its last event."""

    campaign_id: int
    started: datetime  # the launch
    seconds: float  # from the launch to the last event written
    first_send_after: float  # the first provider answer: validation, fan-out, claim
    receipts: int
    receipt_seconds: float  # from the first receipt applied to the last
    worker_cpu_seconds: float  # the worker and its pool, boot included
    report: "DemoReport"  # buckets, credit charged, duplicates sent (send log), lost


def campaign_run_on_worker(
    *,
    leads: int,
    workers: int,
    broker_url: str,
    timeout: float,
    watch: Callable[[int], AbstractContextManager] = lambda campaign_id: nullcontext(),
    quiet_hours: bool = False,
    prepare: Callable[[Campaign], None] = lambda campaign: None,
) -> WorkerRun:
    """Launch a fresh campaign of `leads` leads on one worker with `workers` processes
    and wait until it is idle; `watch(campaign_id)` is entered from the launch to then.

    The broker's database is emptied first; statistics are fresh (ANALYZE) before
    the launch, as autovacuum keeps them on a live database. `prepare` changes
    the draft before its launch; quiet hours are held only if asked. Exits the bench
    when the campaign is not idle after `timeout` seconds.
    """
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, Max, Min, Q
    from django.utils import timezone

    from campaigns.launch import campaign_launch
    from campaigns.management.demo_run import demo_campaign_create, demo_report
    from messaging.models import MessageEvent
    from messaging.statuses import Status
    from tests.integration.workers import (
        broker_empty,
        pipeline_wait,
        postgres_url,
        worker_start,
    )

    scratch = Path(tempfile.mkdtemp(prefix="bench-"))
    send_log = scratch / "sends.sqlite3"
    broker_empty(broker_url)
    cpu_before = _children_cpu()
    worker = worker_start(
        database_url=postgres_url(settings.DATABASES["default"]),
        broker_url=broker_url,
        send_log=send_log,
        concurrency=workers,
        quiet_hours=quiet_hours,
    )
    try:
        campaign = demo_campaign_create(leads=leads)
        prepare(campaign)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        started = timezone.now()
        with watch(campaign.pk):
            campaign_launch(campaign_id=campaign.pk, launched_by=None)
            idle = pipeline_wait(
                campaign_id=campaign.pk, broker_url=broker_url, timeout=timeout
            )
        if not idle:  # the worker's log stays for a look
            raise SystemExit(f"Not idle after {timeout} s; see {worker.log}")
    finally:
        worker.stop()
    worker_cpu = _children_cpu() - cpu_before
    answered = Q(kind=MessageEvent.Kind.SEND) & ~Q(status=Status.SENDING)
    receipts = Q(kind=MessageEvent.Kind.RECEIPT)
    events = MessageEvent.objects.filter(message__campaign_id=campaign.pk).aggregate(
        first=Min("created_at", filter=answered),
        last=Max("created_at"),
        receipts=Count("pk", filter=receipts),
        first_receipt=Min("created_at", filter=receipts),
        last_receipt=Max("created_at", filter=receipts),
    )
    receipt_seconds = 0.0
    if events["receipts"]:
        receipt_seconds = (
            events["last_receipt"] - events["first_receipt"]
        ).total_seconds()
    seconds = (events["last"] - started).total_seconds()
    report = demo_report(campaign_id=campaign.pk, send_log=send_log, seconds=seconds)
    shutil.rmtree(scratch)
    return WorkerRun(
        campaign_id=campaign.pk,
        started=started,
        seconds=seconds,
        first_send_after=(events["first"] - started).total_seconds(),
        receipts=events["receipts"],
        receipt_seconds=receipt_seconds,
        worker_cpu_seconds=worker_cpu,
        report=report,
    )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
