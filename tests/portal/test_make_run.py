"""`make run` on a fresh var directory: the README's first command, for real.

It must serve the portal on SQLite with the server-less broker, its worker
and beat; a campaign launched from the portal is handed to the simulator
lead by lead, each message once, and the campaign page follows it live.
"""

import http.cookiejar
import os
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from django.conf import settings
from django.db import connection
from django.urls import reverse

from messaging.providers.simulator import sends_recorded

pytestmark = pytest.mark.skipif(
    connection.vendor != "sqlite",
    reason="`make run` is the SQLite default; it runs once, in the SQLite pass",
)

STARTUP_TIMEOUT = 240  # seconds: migrate and seed a fresh database, start the worker
RUN_TIMEOUT = 120
STOP_TIMEOUT = 30
DEMO_DRAFT = "Harvest festival invitation"  # seed_demo's draft campaign
# Statuses that say the simulator took the message.
HANDED_OVER = {"sent", "delivered", "undelivered", "unknown"}
# Variables the test run sets that `make run` must not inherit.
NOT_INHERITED = {
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "DJANGO_SETTINGS_MODULE",
    "SIMULATOR_SEND_LOG",
    "SQLITE_PATH",
}


class Session:
    """A logged-in visitor: cookies, and the CSRF token forms need."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base_url + path, timeout=30) as response:
            return response.read().decode()

    def post(self, path: str, data: dict[str, str]) -> str:
        csrf = next(c.value for c in self.cookies if c.name == "csrftoken")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": csrf}).encode()
        with self.opener.open(self.base_url + path, body, timeout=60) as response:
            return response.read().decode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until(check, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout} s; make run said:\n{log.read_text()[-3000:]}")


@pytest.fixture
def make_run(tmp_path):
    """`make run` on a free port with its own var directory; stopped afterwards."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}
    env["PORTAL_VAR_DIR"] = str(tmp_path / "var")
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["make", "run", f"HOST=127.0.0.1:{port}"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    session = Session(f"http://127.0.0.1:{port}")

    def serving() -> bool:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            return bool(session.get("/login/"))
        except (urllib.error.URLError, ConnectionError):
            return False

    try:
        _wait_until(serving, STARTUP_TIMEOUT, "the portal did not answer", log)
        yield session, tmp_path / "var", log
        # Ctrl-C in the terminal stops the server and the worker with it.
        os.killpg(process.pid, signal.SIGINT)
        _wait_until(
            lambda: not _alive(process.pid), STOP_TIMEOUT, "Ctrl-C left processes", log
        )
    finally:
        if _alive(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _alive(group: int) -> list[str]:
    """The live processes of a process group (zombies are not alive)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(stat.parent.name)
    return alive


def test_make_run_serves_a_portal_where_a_launched_campaign_is_sent(make_run):
    session, var, log = make_run
    database = sqlite3.connect(var / "portal.sqlite3", timeout=30)

    # given the demo user logged in, and the demo's draft campaign
    page = session.post(
        "/login/", {"username": "demo", "password": "demo", "next": "/"}
    )
    assert "Bulk Sequences" in page
    (campaign_id,) = database.execute(
        "SELECT id FROM campaigns_campaign WHERE name = ?", [DEMO_DRAFT]
    ).fetchone()

    # when it is checked and launched from its page
    def action(name: str, **data: str) -> str:
        url = reverse("portal:campaigns_campaign_action", args=[campaign_id, name])
        return session.post(url, data)

    assert "Launch check" in action("preview")
    page = action("launch", confirm_warnings="1")
    assert "Campaign launched." in page
    assert 'data-refresh="3"' in page  # the page follows the running campaign

    # then the worker fans it out and hands every message to the simulator
    def settled() -> list[tuple[str, str]] | None:
        rows = database.execute(
            "SELECT uuid, status FROM messaging_message WHERE campaign_id = ?",
            [campaign_id],
        ).fetchall()
        waiting = [row for row in rows if row[1] in ("queued", "sending")]
        return rows if rows and not waiting else None

    messages = _wait_until(settled, RUN_TIMEOUT, "the campaign was not sent", log)
    leads = database.execute(
        "SELECT count(*) FROM campaigns_lead_lists l "
        "JOIN campaigns_campaign_lists c ON c.leadlist_id = l.leadlist_id "
        "JOIN campaigns_lead d ON d.id = l.lead_id "
        "WHERE c.campaign_id = ? AND d.deleted_at IS NULL",
        [campaign_id],
    ).fetchone()[0]
    assert len(messages) == leads
    # and the simulator was handed each message once, none twice
    sends = sends_recorded(var / "simulator-sends.sqlite3")
    for uuid, status in messages:
        times = sends[_dashed(uuid)]
        assert times == (1 if status in HANDED_OVER else 0) or (
            status == "failed" and times == 1  # refused by the simulator at send
        ), (uuid, status, times)


def _dashed(uuid: str) -> str:
    """SQLite stores a UUIDField as 32 hex digits; the send log has the dashed form."""
    return f"{uuid[:8]}-{uuid[8:12]}-{uuid[12:16]}-{uuid[16:20]}-{uuid[20:]}"
