"""Fixtures for the portal screens: a member of an account, logged in, and campaign data."""

import pytest

from django.utils import timezone

from messaging.statuses import Status
from tests import factories


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
