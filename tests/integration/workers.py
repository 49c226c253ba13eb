"""Real Celery workers in subprocesses, for the integration tests and bench/harness.py.

A worker runs the portal's local settings against the given PostgreSQL database
and Redis broker, with the simulator answering at once and appending every
send to a log, so that a test can tell whether any message was sent twice.
"""

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("dispatch-priority", "dispatch", "status", "default")
READY_TIMEOUT = 30  # seconds for a worker to boot and answer a ping
QUIET_SECONDS = 1.0  # no new event for this long, broker empty: the pipeline is idle
POLL_SECONDS = 0.2


def postgres_url(settings_dict: dict) -> str:
    """The URL of a Django PostgreSQL database (the test database, for a worker)."""
    user = settings_dict["USER"] or "postgres"
    password = f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or 5432
    return f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"


def broker_reachable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def broker_empty(url: str) -> None:
    """Drop every task left in the broker's database (a dedicated one) by earlier runs."""
    import redis

    redis.Redis.from_url(url).flushdb()


def broker_idle(url: str) -> bool:
    """True when no task waits in a queue.

    Tasks a worker reserved are not counted: those under way show in the
    database (messages sending, events being written), and a killed worker's
    stay reserved in Redis for an hour while the sweeps redo their work.
    """
    import redis

    pipe = redis.Redis.from_url(url).pipeline()
    for queue in QUEUES:
        pipe.llen(queue)
    return not any(pipe.execute())


@dataclass
class Worker:
    """One `celery worker` with its pool processes, in a process group of its own."""

    process: subprocess.Popen
    log: Path

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash would."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """Warm shutdown: finish the tasks under way, stop the pool, then exit."""
        if self.process.poll() is not None:
            return
        # To the main process only: it stops and reaps its pool processes.
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


def worker_start(
    *,
    database_url: str,
    broker_url: str,
    send_log: Path,
    concurrency: int = 2,
    quiet_hours: bool = False,
) -> Worker:
    """Start a worker on every queue and wait until it answers a ping.

    Refuses when some other worker already consumes the broker's database: it
    would take tasks meant for this one, against whatever database it uses.
    """
    from celery import Celery

    with Celery(broker=broker_url, set_as_current=False) as client:
        others = client.control.ping(timeout=0.5)
    if others:
        raise RuntimeError(
            f"Workers already consume {broker_url}: {others}. Stop them first."
        )

    env = os.environ | {
        "DJANGO_SETTINGS_MODULE": "portal.settings.local",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "SIMULATOR_RECEIPT_DELAY": "0",
        "SIMULATOR_SEND_LOG": str(send_log),
        # Off unless asked: a test's outcome must not depend on the hour it runs.
        "PORTAL_QUIET_HOURS": "1" if quiet_hours else "0",
    }
    log = send_log.with_name(f"worker-{time.monotonic_ns()}.log")
    celery = Path(sys.executable).with_name("celery")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [celery, "-A", "portal", "worker", "--loglevel=WARNING"]
            + [f"--queues={','.join(QUEUES)}", f"--concurrency={concurrency}"]
            + [
                "--without-mingle",
                "--without-gossip",
                f"--hostname=w{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: kill() reaches the pool processes
        )
    worker = Worker(process=process, log=log)
    with Celery(broker=broker_url, set_as_current=False) as client:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"The worker exited: {log.read_text()[-2000:]}")
            if client.control.ping(timeout=0.5):
                return worker
    worker.kill()
    raise RuntimeError(f"The worker did not answer within {READY_TIMEOUT} s")


def pipeline_wait(*, campaign_id: int, broker_url: str, timeout: float) -> bool:
    """Wait until the campaign is fanned out and nothing is left to do; False on timeout.

    Idle means: no status event written for QUIET_SECONDS (the last receipts),
    the campaign fanned out, no task in the broker, and no message of the
    campaign queued or sending. While events keep coming only the newest
    event's id is read, so that the waiting takes no time from the workers.
    """
    from django.db.models import Max

    from campaigns.models import Campaign
    from messaging.models import Message, MessageEvent
    from messaging.statuses import Status

    deadline = time.monotonic() + timeout
    last_event, quiet_since = None, time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        event = MessageEvent.objects.aggregate(last=Max("pk"))["last"]
        if event != last_event:
            last_event, quiet_since = event, time.monotonic()
            continue
        if (
            time.monotonic() - quiet_since >= QUIET_SECONDS
            and Campaign.objects.filter(
                pk=campaign_id, fanned_out_at__isnull=False
            ).exists()
            and broker_idle(broker_url)
            and not Message.objects.filter(
                campaign_id=campaign_id, status__in=[Status.QUEUED, Status.SENDING]
            ).exists()
        ):
            return True
    return False
