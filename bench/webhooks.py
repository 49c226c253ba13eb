"""Webhook throughput: signed Twilio status callbacks against a bare view, one server.

    python bench/webhooks.py --seconds 20 --json [--worker-during-load]

Serves the portal with gunicorn on 127.0.0.1 (PostgreSQL: BENCH_WEBHOOKS_DATABASE_URL, by default
its own database portal_bench_webhooks),
loads POST /webhooks/twilio/<sender>/ with wrk, each request a correctly
signed "delivered" callback for a different existing message, and a bare
Django view returning 200 under the same server settings, the two loads
alternating in slices.

The webhook only records each callback; a real Celery worker on the `status`
queue (broker: CELERY_BROKER_URL, by default Redis DB 0 on 127.0.0.1) applies
them, started every second as beat's apply-webhooks entry does. It runs after
the load, or beside the server during it with --worker-during-load (everything
on one machine). Prints webhook_rps, bare_rps, their ratio, p99 latencies,
how long the worker took to apply the backlog, and lost_updates: callbacks
answered 2xx whose update is not in the database once the worker is done
(must be 0).

Run as a script it drives the benchmark; imported by gunicorn (bench.webhooks:
application) it is the server: the portal's URLs plus /bench/bare/.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_webhooks"
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/0"
# Twice the cores plus one, as gunicorn's docs suggest for sync workers.
WORKERS = 2 * (os.cpu_count() or 1) + 1
# The connection count of the measurements in ARCHITECTURE.md section 9.
CONNECTIONS = 16
THREADS = 2
# Signed requests prepared per second of load: more than the webhook serves,
# so that each accepted callback is about a message no other one touched.
MESSAGES_PER_SECOND = 4000
AUTH_TOKEN = "bench-auth-token"
# The status worker: one process per core, as on a one-machine deployment.
WORKER_CONCURRENCY = os.cpu_count() or 1
DRAIN_TIMEOUT_SECONDS = 600
WARM_UP_SECONDS = 2
# The two loads alternate in this many slices each, so that a change in the
# machine's other load during the run weighs on both alike.
SLICES = 4

# wrk script: each thread walks its own slice of the prepared requests and
# reports requests, non-2xx answers and latency percentiles as JSON. The
# requests are read line by line: LuaJIT refuses a table literal of 80k rows.
WRK_SCRIPT = """
local requests = {}
for line in io.lines("%(data)s") do
  table.insert(requests, {line:match("([^\t]*)\t([^\t]*)\t(.*)")})
end
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  index = id + %(offset)d
end
function request()
  local item = requests[(index - 1) %% #requests + 1]
  index = index + %(threads)d
  return wrk.format("POST", item[1], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["X-Twilio-Signature"] = item[2],
  }, item[3])
end
function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    '{"requests": %%d, "failed": %%d, "seconds": %%f, "p50_ms": %%f, "p99_ms": %%f}\\n',
    summary.requests, bad, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def fixtures_create(count: int):
    """A fresh account, a Twilio sender and count sent messages; return sender and sids."""
    from django.utils import timezone

    from messaging.models import Message
    from messaging.senders import sender_create
    from messaging.statuses import Status
    from portal.models import Account

    stamp = str(time.time_ns())
    account = Account.objects.create(name="Bench " + stamp, slug="bench-" + stamp)
    sender = sender_create(
        account=account,
        provider="twilio",
        phone_number="+13125550000",
        credentials={"account_sid": "ACbench", "auth_token": AUTH_TOKEN},
    )
    sent_at = timezone.now()
    Message.objects.bulk_create(
        (
            Message(
                account=account,
                sender=sender,
                phone=f"+1202{n:07d}",
                body="Bench",
                status=Status.SENT,
                provider="twilio",
                provider_message_id=f"SMb{stamp}{n}",
                sent_at=sent_at,
            )
            for n in range(count)
        ),
        batch_size=5000,
    )
    return sender, [f"SMb{stamp}{n}" for n in range(count)]


def requests_write(path: str, sids: list[str], public_url: str, target: Path) -> None:
    """Write every signed callback for wrk: path, signature and body, tab-separated."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    with target.open("w") as out:
        for sid in sids:
            form = {
                "MessageSid": sid,
                "SmsSid": sid,
                "MessageStatus": "delivered",
                "SmsStatus": "delivered",
                "AccountSid": "ACbench",
                "From": "+13125550000",
                "To": "+12025550100",
                "ApiVersion": "2010-04-01",
            }
            signature = validator.compute_signature(public_url + path, form)
            body = urlencode(form)
            out.write("\t".join((path, signature, body)) + "\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_wait(url: str, timeout: float = 60) -> None:
    """Wait until gunicorn answers url with 200."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urlopen(Request(url, method="POST"), timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def wrk_check() -> None:
    """Stop at once, saying how to install it, when wrk (the load generator) is missing."""
    if shutil.which("wrk") is None:
        sys.exit(
            "bench/webhooks.py needs wrk, the HTTP load generator: "
            "apt-get install wrk (Debian, Ubuntu) or brew install wrk (macOS)."
        )


def wrk_run(url: str, script: Path, seconds: int) -> dict:
    command = [
        "wrk",
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(script),
        url,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def wrk_total(slices: list[dict]) -> dict:
    """One figure from the slices of a load; p99 is the worst slice's (an upper bound)."""
    total = {key: sum(part[key] for part in slices) for key in ("requests", "failed")}
    seconds = sum(part["seconds"] for part in slices)
    return total | {
        "rps": total["requests"] / seconds,
        "p99_ms": max(part["p99_ms"] for part in slices),
    }


def worker_start(environment: dict[str, str]) -> subprocess.Popen:
    """A Celery worker on the status queue, as deployed."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app=portal",
            "worker",
            "--queues=status",
            f"--concurrency={WORKER_CONCURRENCY}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=environment,
    )


def beat_imitate(stop: threading.Event) -> None:
    """Start the status task every second until stopped, as beat's apply-webhooks entry does."""
    from messaging.tasks import apply_status_batch_task

    while True:
        apply_status_batch_task.apply_async(expires=10)
        if stop.wait(1.0):
            return


def drain_wait(sender) -> tuple[int, float]:
    """Wait for the worker to apply the sender's recorded callbacks; return backlog and seconds."""
    from messaging.models import WebhookEvent

    pending = WebhookEvent.objects.filter(sender=sender)
    backlog = left = pending.count()
    start = time.monotonic()
    while left and time.monotonic() - start < DRAIN_TIMEOUT_SECONDS:
        time.sleep(0.1)
        left = pending.count()
    return backlog, time.monotonic() - start


def lost_updates(sender, accepted: int) -> int:
    """Callbacks answered 2xx that left no applied trace, plus messages not moved."""
    from messaging.models import Message, MessageEvent
    from messaging.statuses import Status

    events = MessageEvent.objects.filter(
        message__sender=sender, provider_status="delivered"
    )
    recorded = events.count()
    stuck = (
        Message.objects.filter(pk__in=events.values("message_id"))
        .exclude(status=Status.DELIVERED)
        .count()
    )
    return max(accepted - recorded, 0) + stuck


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    parser.add_argument(
        "--worker-during-load",
        action="store_true",
        help="Run the status worker beside the server during the load.",
    )
    options = parser.parse_args()
    wrk_check()

    # Its own database: other benchmarks truncate and bulk-load theirs.
    database_url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_DATABASE_URL)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 50),
        "PORTAL_CREDENTIALS_KEY": os.environ.get(
            "PORTAL_CREDENTIALS_KEY", Fernet.generate_key().decode()
        ),
        # wrk posts plain HTTP straight to gunicorn, with no TLS proxy in front.
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "PORTAL_PUBLIC_URL": public_url,
        "DJANGO_LOG_LEVEL": "WARNING",
        "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", DEFAULT_BROKER_URL),
    }
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    from bench.harness import database_create

    database_create(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    import django

    django.setup()
    worker = worker_start(environment)  # boots while the fixtures are written
    ticking = threading.Event()
    beat = threading.Thread(target=beat_imitate, args=(ticking,))
    sender, sids = fixtures_create(options.seconds * MESSAGES_PER_SECOND)
    path = f"/webhooks/twilio/{sender.uuid}/"

    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "requests.tsv"
        requests_write(path, sids, public_url, data)
        scripts = []  # each slice starts at its own share of the callbacks
        for number in range(SLICES):
            script = Path(work) / f"callbacks-{number}.lua"
            offset = number * len(sids) // SLICES
            script.write_text(
                WRK_SCRIPT % {"data": data, "threads": THREADS, "offset": offset}
            )
            scripts.append(script)
        bare_data = Path(work) / "bare.tsv"
        requests_write("/bench/bare/", sids[:1000], public_url, bare_data)
        bare_script = Path(work) / "bare-callbacks.lua"
        bare_script.write_text(
            WRK_SCRIPT % {"data": bare_data, "threads": THREADS, "offset": 0}
        )
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.webhooks:application",
                f"--bind=127.0.0.1:{port}",
                f"--workers={WORKERS}",
                "--log-level=warning",
            ],
            cwd=ROOT,
            env=environment,
        )
        try:
            server_wait(public_url + "/bench/bare/")
            # Unmeasured: every gunicorn worker has booted before the loads.
            wrk_run(public_url + "/bench/bare/", bare_script, WARM_UP_SECONDS)
            if options.worker_during_load:
                beat.start()
            slice_seconds = max(options.seconds // SLICES, 1)
            bare_slices, webhook_slices = [], []
            for script in scripts:
                bare_slices.append(
                    wrk_run(public_url + "/bench/bare/", bare_script, slice_seconds)
                )
                webhook_slices.append(wrk_run(public_url + path, script, slice_seconds))
            bare, webhook = wrk_total(bare_slices), wrk_total(webhook_slices)
            if not options.worker_during_load:
                beat.start()
            backlog, drain_seconds = drain_wait(sender)
        finally:
            ticking.set()
            for process in (server, worker):
                process.terminate()
                process.wait(timeout=60)

    from django.conf import settings

    accepted = webhook["requests"] - webhook["failed"]
    figures = {
        "webhook_rps": round(webhook["rps"], 1),
        "bare_rps": round(bare["rps"], 1),
        "ratio": round(webhook["rps"] / bare["rps"], 3),
        "webhook_p99_ms": round(webhook["p99_ms"], 1),
        "bare_p99_ms": round(bare["p99_ms"], 1),
        "webhook_failed": webhook["failed"],
        "lost_updates": lost_updates(sender, accepted),
        "backlog_after_load": backlog,
        "drain_seconds": round(drain_seconds, 1),
        "worker_during_load": options.worker_during_load,
        "seconds": slice_seconds * SLICES,
        "workers": WORKERS,
        # Persistent connections, as production runs (0 would reconnect per request).
        "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
        "connections": CONNECTIONS,
    }
    if options.json:
        print(json.dumps(figures))
    else:
        for name, value in figures.items():
            print(f"{name:>16}: {value}")


if __name__ == "__main__":
    main()
else:
    # Imported by gunicorn: the portal, plus a bare view on the same settings.
    from django.core.wsgi import get_wsgi_application

    application = get_wsgi_application()

    from django.conf import settings
    from django.http import HttpRequest, HttpResponse
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def bare_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    urlpatterns = [
        path("bench/bare/", bare_view),
        path("", include("portal.urls")),
    ]
    settings.ROOT_URLCONF = __name__
