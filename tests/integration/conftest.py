"""Real workers for the integration tests: PostgreSQL, Redis, `celery worker` subprocesses.

The broker is CELERY_BROKER_URL when it names Redis (CI sets a database of its
own), else Redis database 9; the tests empty that database first. Workers use
the test database, so the tests commit for real (transactional_db).
"""

import os
from pathlib import Path

import pytest
from celery import Celery

from django.db import connection

from tests.conftest import need
from tests.integration.workers import (
    Worker,
    broker_empty,
    broker_reachable,
    postgres_url,
    worker_start,
)

DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/9"


@pytest.fixture
def broker_url(postgres) -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    url = url if url.startswith("redis://") else DEFAULT_BROKER_URL
    need(broker_reachable(url), f"needs Redis at {url}: set CELERY_BROKER_URL")
    broker_empty(url)
    return url


@pytest.fixture
def publishing(broker_url):
    """Tasks this process sends go to the real broker, as the web process's do.

    A second Celery app, configured like the portal's but pointing at Redis,
    is made current for the test: the shared tasks resolve to it.
    """
    from portal.celery import app

    with Celery("integration", set_as_current=True) as client:
        client.config_from_object("django.conf:settings", namespace="CELERY")
        client.conf.update(broker_url=broker_url, task_always_eager=False)
        try:
            yield client
        finally:
            app.set_current()


@pytest.fixture
def start_worker(broker_url, tmp_path, settings):
    """Start workers on the test database; they and this process share one simulator send log."""
    settings.SIMULATOR_SEND_LOG = str(tmp_path / "sends.log")
    started: list[Worker] = []

    def start() -> Worker:
        worker = worker_start(
            database_url=postgres_url(connection.settings_dict),
            broker_url=broker_url,
            send_log=Path(settings.SIMULATOR_SEND_LOG),
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
