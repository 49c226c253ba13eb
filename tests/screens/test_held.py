"""A held message is visibly held: its reason and release time, in the account's zone."""

from datetime import UTC, datetime, timedelta

import pytest

from django.urls import reverse

from messaging.models import Message
from portal.models import Account
from tests import factories

pytestmark = pytest.mark.django_db

# 8:00 in New York: 12:00 UTC in June.
RELEASE = datetime(2031, 6, 11, 12, 0, tzinfo=UTC)


@pytest.fixture
def held(account, sender):
    Account.objects.filter(pk=account.pk).update(time_zone="America/New_York")
    campaign = factories.CampaignFactory(account=account, sender=sender)
    return factories.MessageFactory(
        campaign=campaign,
        hold=Message.Hold.QUIET_HOURS,
        next_attempt_at=RELEASE,
        expires_at=RELEASE + timedelta(hours=16),
    )


def test_a_held_message_says_so_with_its_release_time_in_the_accounts_zone(
    portal_client, held
):
    expected = "Held: quiet hours until"
    when = "Wed 11 Jun 08:00</time> (America/New_York)"
    # the SMS log
    html = portal_client.get(reverse("portal:messaging_message_changelist")).content
    assert expected in html.decode() and when in html.decode()
    # the lead's history
    page = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[held.lead_id])
    )
    assert expected in page.content.decode() and when in page.content.decode()
    # the dashboard's In-queue tooltip: counted there, and why
    dashboard = portal_client.get(reverse("portal:index")).content.decode()
    assert (
        "<strong>Held: quiet hours</strong> (1): released from Wed 11 Jun 08:00"
        in dashboard
    )
    assert "(America/New_York)" in dashboard


def test_a_message_no_longer_held_shows_no_hold(portal_client, held):
    Message.objects.filter(pk=held.pk).update(status="sent", sent_at=RELEASE)
    html = portal_client.get(reverse("portal:messaging_message_changelist")).content
    assert "Held:" not in html.decode()
