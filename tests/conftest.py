"""Shared fixtures; services (PostgreSQL, Redis, Chromium) skip unless REQUIRE_SERVICES=1."""

import os

import pytest

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
