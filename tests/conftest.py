"""Shared fixtures; services (PostgreSQL, Redis, Chromium) skip unless REQUIRE_SERVICES=1."""

import os

import pytest

from django.db import connection

from tests import factories


def need(available: bool, reason: str) -> None:
    """Skip when a service is missing, but fail when CI says every service is required."""
    if available:
        return
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def postgres() -> None:
    need(
        connection.vendor == "postgresql",
        "needs PostgreSQL: set DATABASE_URL=postgres://...",
    )


@pytest.fixture
def account(db):
    return factories.AccountFactory()


@pytest.fixture
def sender(account):
    return factories.SenderFactory(account=account)


@pytest.fixture
def campaign(account, sender):
    return factories.CampaignFactory(account=account, sender=sender)


# Nothing listens on port 1: a connection there is refused at once.
DEAD_BROKER_URL = "redis://127.0.0.1:1/0"


@pytest.fixture
def broker_down():
    """Tasks this process publishes go to a broker that refuses connections."""
    from celery import Celery

    from portal.celery import app

    with Celery("broker-down", set_as_current=True) as down:
        down.config_from_object("django.conf:settings", namespace="CELERY")
        down.conf.update(broker_url=DEAD_BROKER_URL, task_always_eager=False)
        try:
            yield down
        finally:
            app.set_current()
