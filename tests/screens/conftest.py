"""Fixtures for the portal screens: a member of an account, logged in, campaign data, a browser."""

import os

import pytest

from django.utils import timezone

from messaging.statuses import Status
from tests import factories
from tests.conftest import need

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium(django_db_setup):
    need(
        os.path.exists(CHROMIUM),
        f"needs Chromium at {CHROMIUM} (apt-get install chromium)",
    )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        need(
            False, "needs pytest-playwright (pip install 'pytest-playwright>=0.6,<0.8')"
        )
    # Playwright's sync API keeps an event loop running in this thread; the ORM
    # calls the tests make are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(chromium, live_server):
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def portal_client(client, member):
    client.force_login(member)
    return client


# One message per status that the widget shows, so every bucket has a count.
SPREAD = [
    Status.QUEUED,
    Status.SENT,
    Status.DELIVERED,
    Status.DELIVERED,
    Status.UNDELIVERED,
    Status.UNKNOWN,
]


def campaign_with_messages(*, account, sender, error, statuses=SPREAD, **fields):
    """A launched campaign with one message per given status (errors carry `error`)."""
    campaign = factories.CampaignFactory(
        account=account,
        sender=sender,
        state="in_progress",
        launched_at=timezone.now(),
        **fields,
    )
    for status in statuses:
        factories.MessageFactory(
            campaign=campaign,
            status=status,
            error=error if status == Status.UNDELIVERED else None,
        )
    return campaign
