"""Webhook throughput: signed Twilio status callbacks against a bare view, one server.

    python bench/webhooks.py --seconds 20 --json

Serves the portal with gunicorn on 127.0.0.1 (PostgreSQL: BENCH_WEBHOOKS_DATABASE_URL, by default
its own database portal_bench_webhooks),
loads POST /webhooks/twilio/<sender>/ with wrk, each request a correctly
signed "delivered" callback for a different existing message, then loads a
bare Django view returning 200 under the same server settings. Prints
webhook_rps, bare_rps, their ratio, p99 latencies and lost_updates:
callbacks answered 2xx whose update is not in the database (must be 0).

Run as a script it drives the benchmark; imported by gunicorn (bench.webhooks:
application) it is the server: the portal's URLs plus /bench/bare/.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/portal_bench_webhooks"
# Twice the cores plus one, as gunicorn's docs suggest for sync workers.
WORKERS = 2 * (os.cpu_count() or 1) + 1
# The connection count of the measurements in ARCHITECTURE.md section 9.
CONNECTIONS = 16
THREADS = 2
# Signed requests prepared per second of load: more than the webhook serves,
# so that each accepted callback is about a message no other one touched.
MESSAGES_PER_SECOND = 2000
AUTH_TOKEN = "bench-auth-token"

# wrk script: each thread walks its own slice of the prepared requests and
# reports requests, non-2xx answers and latency percentiles as JSON.
WRK_SCRIPT = """
local requests = dofile("%(data)s")
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  index = id
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


def lua_string(text: str) -> str:
    return json.dumps(text)  # JSON string escapes are valid Lua for ASCII text


def database_create(url: str) -> None:
    """Create the benchmark's database if it does not exist yet."""
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
    """Write every signed callback as a Lua table for wrk."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    with target.open("w") as out:
        out.write("return {\n")
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
            fields = ", ".join(lua_string(text) for text in (path, signature, body))
            out.write("{" + fields + "},\n")
        out.write("}\n")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_wait(port: int, timeout: float = 30) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


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
    result = json.loads(output.strip().splitlines()[-1])
    result["rps"] = result["requests"] / result["seconds"]
    return result


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
    options = parser.parse_args()

    # Its own database: other benchmarks truncate and bulk-load theirs.
    database_url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_DATABASE_URL)
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    environment = os.environ | {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "portal.settings.production",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-" + "x" * 50),
        "PORTAL_PUBLIC_URL": public_url,
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    os.environ.update(environment)
    sys.path.insert(0, str(ROOT))
    database_create(database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=environment,
        check=True,
    )
    import django

    django.setup()
    sender, sids = fixtures_create(options.seconds * MESSAGES_PER_SECOND)
    path = f"/webhooks/twilio/{sender.uuid}/"

    with tempfile.TemporaryDirectory() as work:
        data = Path(work) / "requests.lua"
        requests_write(path, sids, public_url, data)
        script = Path(work) / "callbacks.lua"
        script.write_text(WRK_SCRIPT % {"data": data, "threads": THREADS})
        bare_data = Path(work) / "bare.lua"
        requests_write("/bench/bare/", sids[:1000], public_url, bare_data)
        bare_script = Path(work) / "bare-callbacks.lua"
        bare_script.write_text(WRK_SCRIPT % {"data": bare_data, "threads": THREADS})
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
            server_wait(port)
            webhook = wrk_run(public_url + path, script, options.seconds)
            bare = wrk_run(public_url + "/bench/bare/", bare_script, options.seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)

    accepted = webhook["requests"] - webhook["failed"]
    figures = {
        "webhook_rps": round(webhook["rps"], 1),
        "bare_rps": round(bare["rps"], 1),
        "ratio": round(webhook["rps"] / bare["rps"], 3),
        "webhook_p99_ms": round(webhook["p99_ms"], 1),
        "bare_p99_ms": round(bare["p99_ms"], 1),
        "webhook_failed": webhook["failed"],
        "lost_updates": lost_updates(sender, accepted),
        "seconds": options.seconds,
        "workers": WORKERS,
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
