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
