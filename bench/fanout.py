"""Benchmark: a campaign's fan-out into messages on PostgreSQL, against a raw COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_fanout \\
        python bench/fanout.py --leads 200000 --json

Builds one account with --leads leads over two lists (a tenth in both, so the
fan-out deduplicates them), with the mix a real list has: invalid numbers,
opt-outs, suppressed and deleted leads, and a body that fills in a name and a
custom field. The leads are written as an import writes them: each valid
number recorded as checked, so the fan-out checks only the invalid ones
again. Each run fans a fresh campaign out with the real campaign_fan_out
(sends are published to an in-memory broker, not run) into an empty message
table, then COPYs the very rows it wrote, read back beforehand, with raw psycopg
into a scratch table identical to the message table but for triggers: same
columns, constraints, indexes and foreign keys. Prints the medians of
fanout_rows_per_s, copy_rows_per_s and their ratio; also the COPY into a bare
table (no index, no key), and the CPU seconds of this process and its
PostgreSQL backend for both, which a busy machine distorts less than wall time.
The database is created if it is missing; the leads are rebuilt when --rebuild
is given or their count differs.
"""

import argparse
import json
import os
import re
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
# Sends are published, as in production, to a broker that needs no server.
os.environ["CELERY_BROKER_URL"] = "memory://"

ACCOUNT_SLUG = "bench-fanout"
BODY = (
    "Hi {first_name}, show code {code} at the till for 10% off. Reply STOP to opt out."
)
# Real US area codes: each with 800 exchanges of 10,000 lines, room for any --leads.
AREA_CODES = (202, 212, 213, 305, 312, 404, 415, 512, 617, 646, 702, 718, 917)
FIRST_NAMES = ("Ana", "Bo", "Chloé", "Dev", "Eli", "Fay", "", "Gus", "Hana", "Ivo")
SCRATCH = "bench_fanout_scratch"


def phone(n: int) -> str:
    if n % 100 == 7:
        return f"+1555{n:07d}"  # area code 555 does not exist: invalid
    area = AREA_CODES[n % len(AREA_CODES)]
    exchange = 200 + (n // len(AREA_CODES)) % 800
    line = n // (len(AREA_CODES) * 800)
    return f"+1{area}{exchange}{line:04d}"


def build(leads: int) -> None:
    """Create the account, sender, two lists and the leads with COPY, the rest in SQL."""
    from django.db import connection
    from django.utils import timezone

    from campaigns.leads import lead_checked_phone
    from campaigns.models import Lead, LeadList
    from messaging.models import Sender
    from portal.models import Account

    now = timezone.now()
    account = Account.objects.create(
        name="Fan-out", slug=ACCOUNT_SLUG, credit_balance=10 * leads
    )
    Sender.objects.create(
        account=account, provider="simulator", phone_number="+15550100001"
    )
    first, second = LeadList.objects.bulk_create(
        [LeadList(account=account, name=name) for name in ("Customers", "Newsletter")]
    )
    columns = ["created_at", "updated_at", "account_id", "phone", "first_name"]
    columns += ["last_name", "fields", "deleted_at", "suppressed_at"]
    columns += ["suppressed_reason", "checked_phone"]
    with connection.cursor() as cursor:
        copy_sql = f"COPY {Lead._meta.db_table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(copy_sql) as copy:
            for n in range(leads):
                fields = "{}" if n % 10 == 3 else f'{{"code": "C{n}"}}'
                number = phone(n)
                copy.write_row(
                    [now, now, account.pk, number, FIRST_NAMES[n % 10], "Lee"]
                    + [fields, now if n % 200 == 11 else None]
                    + [now if n % 200 == 13 else None, ""]
                    + [lead_checked_phone(number)]
                )
        through = Lead.lists.through._meta.db_table
        cursor.execute(
            f"INSERT INTO {through} (lead_id, leadlist_id) "
            "SELECT id, %s FROM campaigns_lead WHERE account_id = %s "
            "UNION ALL SELECT id, %s FROM campaigns_lead "
            "WHERE account_id = %s AND id %% 10 IN (0, 5)",
            [first.pk, account.pk, second.pk, account.pk],
        )
        cursor.execute(
            "INSERT INTO messaging_optout "
            "(created_at, updated_at, account_id, phone, source, detail) "
            "SELECT %s, %s, account_id, phone, 'keyword', '' FROM campaigns_lead "
            "WHERE account_id = %s AND id %% 100 = 41",
            [now, now, account.pk],
        )
        cursor.execute("ANALYZE")


def cpu_seconds(pid: int | None) -> float:
    """CPU time of a process on this machine: this one, or a PostgreSQL backend.

    CPU time stays honest on a busy machine, where wall time depends on what
    else runs; a database on another host is not measured (None pid -> 0).
    """
    if pid is None:
        return 0.0
    if pid == os.getpid():
        return time.process_time()
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


def backend_pid(cursor, url: str) -> int | None:
    if not re.search(r"@(127\.0\.0\.1|localhost)[:/]", url):
        return None
    cursor.execute("SELECT pg_backend_pid()")
    return cursor.fetchone()[0]


def cpu_used(pids: list[int | None], before: list[float]) -> list[float]:
    """CPU seconds each process used since `before`: [this one, its backend]."""
    return [cpu_seconds(pid) - was for pid, was in zip(pids, before, strict=True)]


def fan_out(account_id: int, url: str) -> dict:
    """Run the real fan-out of a fresh campaign to both lists; time it."""
    from django.db import connection

    from campaigns.fan_out import campaign_fan_out
    from campaigns.models import Campaign, LeadList
    from messaging.models import Message, Sender

    campaign = Campaign.objects.create(
        account_id=account_id,
        name="Fan-out",
        sender=Sender.objects.get(account_id=account_id),
        body=BODY,
        field_defaults={"first_name": "friend", "code": "WELCOME"},
        state=Campaign.State.PROCESSING,
    )
    campaign.lists.set(LeadList.objects.filter(account_id=account_id))
    with connection.cursor() as cursor:
        pids = [os.getpid(), backend_pid(cursor, url)]
    cpu_before = [cpu_seconds(pid) for pid in pids]
    start = time.perf_counter()
    queued = campaign_fan_out(campaign_id=campaign.pk)
    seconds = time.perf_counter() - start
    cpu = cpu_used(pids, cpu_before)
    campaign.refresh_from_db()
    return {
        "campaign_id": campaign.pk,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "messages": Message.objects.filter(campaign=campaign).count(),
        "queued": queued,
    }


def raw_copies(url: str, campaign_id: int) -> dict:
    """COPY the campaign's messages, read back beforehand, into scratch tables.

    One is identical to the message table but for triggers (the fan-out pays
    for the same indexes and foreign-key checks), one is bare (no index, no
    key).
    """
    import psycopg

    from django.db import connection

    from messaging.models import Message

    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f.column for f in fields)
    types = [f.db_type(connection).split("(")[0] for f in fields]
    table = Message._meta.db_table
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            f"SELECT {columns} FROM {table} WHERE campaign_id = %s ORDER BY id",
            [campaign_id],
        ).fetchall()
        foreign_keys = [
            definition
            for (definition,) in conn.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = %s::regclass AND contype = 'f'",
                [table],
            )
        ]
        rates = {}
        for name, like, keys in (
            ("copy_rows_per_s", "INCLUDING ALL", foreign_keys),
            ("copy_bare_rows_per_s", "INCLUDING DEFAULTS INCLUDING IDENTITY", []),
        ):
            conn.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
            conn.execute(f"CREATE TABLE {SCRATCH} (LIKE {table} {like})")
            for key in keys:
                conn.execute(f"ALTER TABLE {SCRATCH} ADD {key}")
            conn.commit()
            with conn.cursor() as cursor:
                pids = [os.getpid(), backend_pid(cursor, url)]
            cpu_before = [cpu_seconds(pid) for pid in pids]
            start = time.perf_counter()
            with conn.cursor() as cursor:
                with cursor.copy(
                    f"COPY {SCRATCH} ({columns}) FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(types)
                    for row in rows:
                        copy.write_row(row)
            conn.commit()
            rates[name] = len(rows) / (time.perf_counter() - start)
            rates[name.replace("rows_per_s", "cpu_seconds")] = cpu_used(
                pids, cpu_before
            )
            conn.execute(f"DROP TABLE {SCRATCH}")
            conn.commit()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3, help="fan-outs; median kept")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    from bench.harness import database_ready

    database_ready(url)
    from django.core.management import call_command
    from django.db import connection

    from campaigns.models import Lead
    from portal.models import Account

    account = Account.objects.filter(slug=ACCOUNT_SLUG).first()
    if (
        args.rebuild
        or account is None
        or Lead.objects.filter(account=account).count() != args.leads
    ):
        call_command("flush", interactive=False, verbosity=0)
        build(args.leads)
        account = Account.objects.get(slug=ACCOUNT_SLUG)

    runs, copies = [], []
    for _ in range(args.runs):
        with connection.cursor() as cursor:
            # Each run starts from an empty message table, as a first fan-out would.
            cursor.execute("TRUNCATE messaging_message CASCADE")
            cursor.execute("VACUUM ANALYZE messaging_message")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run = fan_out(account.pk, url)
        # Only the first run counts: the raw copies hold every row in memory.
        run["rss_growth_mb"] = round(
            (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024, 1
        )
        runs.append(run)
        copies.append(raw_copies(url, run["campaign_id"]))
    median = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
    fanout = median["messages"] / median["seconds"]
    copy = statistics.median(c["copy_rows_per_s"] for c in copies)
    bare = statistics.median(c["copy_bare_rows_per_s"] for c in copies)
    fanout_cpu = [statistics.median(r["cpu_seconds"][i] for r in runs) for i in (0, 1)]
    copy_cpu = [
        statistics.median(c["copy_cpu_seconds"][i] for c in copies) for i in (0, 1)
    ]
    result = {
        "leads": args.leads,
        "messages": median["messages"],
        "queued": median["queued"],
        "fanout_seconds": round(median["seconds"], 2),
        "fanout_rows_per_s": round(fanout),
        "copy_rows_per_s": round(copy),
        "ratio": round(fanout / copy, 3),
        "copy_bare_rows_per_s": round(bare),
        "ratio_to_bare": round(fanout / bare, 3),
        # CPU seconds [Python, its PostgreSQL backend]: honest on a busy machine.
        # cpu_ratio compares the sums, as if neither side ever ran in parallel.
        "fanout_cpu_seconds": [round(seconds, 2) for seconds in fanout_cpu],
        "copy_cpu_seconds": [round(seconds, 2) for seconds in copy_cpu],
        "cpu_ratio": round(sum(copy_cpu) / sum(fanout_cpu), 3),
        "fanout_rows_per_s_runs": [round(r["messages"] / r["seconds"]) for r in runs],
        "copy_rows_per_s_runs": [round(c["copy_rows_per_s"]) for c in copies],
        "first_run_rss_growth_mb": runs[0]["rss_growth_mb"],
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>27}: {value}")


if __name__ == "__main__":
    main()
