"""Shared fixtures; services (PostgreSQL, Redis, Chromium) skip unless REQUIRE_SERVICES=1."""

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from celery import Celery, current_app

from django.db import connection

from messaging.models import ErrorCode
from messaging.statuses import Status
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


@contextmanager
def broker_refusing() -> Iterator[Celery]:
    """Tasks this process publishes meanwhile go to a broker that refuses connections."""
    before = current_app._get_current_object()
    with Celery("broker-down", set_as_current=True) as down:
        down.config_from_object("django.conf:settings", namespace="CELERY")
        # The write URL: CELERY_BROKER_URL in the environment beats broker_url.
        down.conf.update(broker_write_url=DEAD_BROKER_URL, task_always_eager=False)
        try:
            yield down
        finally:
            before.set_current()


@pytest.fixture
def broker_down() -> Iterator[Celery]:
    with broker_refusing() as down:
        yield down


@pytest.fixture
def member(account):
    user = factories.MembershipFactory(account=account).user
    # The factory skips the save after set_password; a session needs the saved hash.
    user.save()
    return user


@pytest.fixture
def error_code(db):
    return ErrorCode.objects.filter(provider="twilio", code="30008").first() or (
        ErrorCode.objects.create(
            provider="twilio",
            code="30008",
            title="Unknown error",
            meaning="The destination carrier gave no reason.",
            resolution="Try again later.",
            category=ErrorCode.Category.UNKNOWN,
            temporary=True,
            billable=True,
            number_advice=ErrorCode.NumberAdvice.KEEP,
            status=Status.UNDELIVERED,
        )
    )
