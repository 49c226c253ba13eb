"""Benchmark: outbound webhook throughput, events/s batched to a local receiver, on PostgreSQL.

    python bench/hooks.py --events 50000 --json

In its own database (BENCH_HOOKS_DATABASE_URL, by default portal_bench_hooks,
created and migrated if missing, emptied first) it makes one account with an
endpoint taking message.status_changed, and messages moved to delivered
through the one status service (messages_apply_statuses) in batches of 500,
which writes their outbox rows. A receiver in a child process on 127.0.0.1
answers 204 to every POST after checking its signature (the README's check)
and counts the events. Then the delivery service (what the `hooks.deliver`
task runs) sends them all, and the bench prints events/s, POSTs, what a batch
of 500 moves costs with and without an endpoint, and lost: events written but
not received (must be 0).
"""

import argparse
import json
import logging
import multiprocessing
import os
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.local")
os.environ.setdefault("HOOKS_ALLOW_LOCAL_URLS", "1")  # the receiver is on 127.0.0.1
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_hooks"
MOVE_BATCH = 500  # receipts the status worker applies at once (messaging/ingest.py)


def _verify():
    """The receivers' signature check, as README.md gives it."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Outbound webhooks") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


def receive(secret: str, port, events, posts, bad) -> None:
    """Serve 204 to every signed POST and count its events (a child process)."""
    verify = _verify()

    class Receiver(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            if verify(secret, self.headers["Portal-Signature"], body):
                with events.get_lock():
                    events.value += len(json.loads(body))
                    posts.value += 1
            else:
                bad.value += 1
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    port.value = server.server_address[1]
    server.serve_forever()


def build(n: int) -> tuple[int, list[int]]:
    """An account with n sent messages; its id and the message ids."""
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from campaigns.models import Campaign
    from messaging.models import Message, Sender
    from portal.bulk import rows_insert
    from portal.models import Account

    call_command("flush", interactive=False, verbosity=0)
    account = Account.objects.create(name="Bench hooks", slug="bench-hooks")
    sender = Sender.objects.create(
        account=account, provider="simulator", phone_number="+15550100000"
    )
    campaign = Campaign.objects.create(
        account=account, sender=sender, name="Bench", state="in_progress"
    )
    now = timezone.now()
    fields = (
        "uuid", "account_id", "campaign_id", "sender_id", "direction", "phone",
        "body", "segments", "status", "provider", "provider_status", "created_at",
        "updated_at", "sent_at", "billed", "attempt", "send_tries", "superseded",
    )  # fmt: skip
    rows_insert(
        Message,
        fields,
        [
            (
                uuid.uuid4(),
                account.pk,
                campaign.pk,
                sender.pk,
                "outbound",
                f"+1202{i:07d}",
                "Hi",
                1,
                "sent",
                "simulator",
                "",
                now,
                now,
                now,
                False,
                1,
                1,
                False,
            )  # fmt: skip
            for i in range(n)
        ],
    )
    connection.cursor().execute("ANALYZE")
    return account.pk, list(Message.objects.order_by("pk").values_list("pk", flat=True))


def _moves_ms(ids: list[int]) -> float:
    """Milliseconds per batch of MOVE_BATCH moves to delivered, through the status service."""
    from messaging.services import StatusUpdate, messages_apply_statuses
    from portal.bulk import chunked

    delivered = StatusUpdate(status="delivered")
    batches = list(chunked(ids, MOVE_BATCH))
    start = time.perf_counter()
    for batch in batches:
        messages_apply_statuses(updates=[(pk, delivered) for pk in batch])
    return round((time.perf_counter() - start) / len(batches) * 1000, 1)


def _no_endpoint_emit_ms(ids: list[int]) -> float:
    """Milliseconds the outbox adds to a batch of moves when no endpoint takes them."""
    from messaging.hooks.outbox import hook_message_moves_emit

    moves = [(pk, None, "delivered", None) for pk in ids]
    start = time.perf_counter()
    for _ in range(100):
        hook_message_moves_emit(moves=moves)
    return round((time.perf_counter() - start) * 10, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from bench.harness import database_ready

    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per POST otherwise

    database_ready(os.environ.get("BENCH_HOOKS_DATABASE_URL", DEFAULT_DATABASE_URL))
    from django.db import connection

    from messaging.hooks.delivery import hook_endpoint_deliver
    from messaging.hooks.models import HookEndpoint, HookEvent
    from messaging.hooks.services import hook_endpoint_create

    # Ten batches without an endpoint first, to compare with.
    account_id, ids = build(args.events + 10 * MOVE_BATCH)
    without_ms = _moves_ms(ids[: 10 * MOVE_BATCH])
    emit_ms = _no_endpoint_emit_ms(ids[:MOVE_BATCH])
    port, events, posts, bad = (multiprocessing.Value("l", 0) for _ in range(4))
    endpoint, secret = hook_endpoint_create(
        account_id=account_id,
        url="http://127.0.0.1/",  # the receiver's port is known once it listens
        event_types=[HookEvent.Type.MESSAGE_STATUS],
    )
    receiver = multiprocessing.Process(
        target=receive, args=(secret, port, events, posts, bad), daemon=True
    )
    receiver.start()
    try:
        while not port.value:
            time.sleep(0.05)
        HookEndpoint.objects.filter(pk=endpoint.pk).update(
            url=f"http://127.0.0.1:{port.value}/hooks"
        )
        with_ms = _moves_ms(ids[10 * MOVE_BATCH :])
        written = HookEvent.objects.count()
        connection.cursor().execute("ANALYZE")
        start = time.perf_counter()
        while HookEvent.objects.filter(delivery__isnull=True).exists():
            if not hook_endpoint_deliver(endpoint_id=endpoint.pk):
                break  # a failed delivery: what it left shows as lost
        seconds = time.perf_counter() - start
    finally:
        receiver.terminate()
    result = {
        "events": written,
        "seconds": round(seconds, 2),
        "events_per_second": round(events.value / seconds),
        "posts": posts.value,
        "bad_signatures": bad.value,
        "lost": written - events.value,
        "moves_batch_ms_without_endpoint": without_ms,
        "moves_batch_ms_with_endpoint": with_ms,
        "outbox_ms_per_batch_without_endpoint": emit_ms,
        "load_1min": round(os.getloadavg()[0], 2),
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>32}: {value}")


if __name__ == "__main__":
    main()
