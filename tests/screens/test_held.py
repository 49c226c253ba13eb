"""A held message is visibly held: its reason and release time, in the account's zone."""

from datetime import UTC, datetime, time, timedelta

import pytest

from django.urls import reverse

from campaigns.fan_out import campaign_fan_out
from campaigns.models import Campaign
from messaging.models import Message
from portal.models import Account, Membership
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


def test_an_owner_sets_the_accounts_sending_hours_on_the_portal(
    portal_client, account, member
):
    url = reverse("portal:portal_account_change", args=[account.pk])
    data = {"send_window_start": "09:00", "send_window_end": "20:00"}
    # a staff member sees them but cannot change them
    assert portal_client.post(url, data).status_code == 403
    # an owner can narrow them, never past the federal 8:00-21:00
    Membership.objects.filter(user=member).update(role=Membership.Role.OWNER)
    late = portal_client.post(url, {**data, "send_window_end": "22:00"})
    assert "21:00 at the latest" in late.content.decode()
    assert portal_client.post(url, data).status_code == 302
    account.refresh_from_db()
    assert (account.send_window_start, account.send_window_end) == (time(9), time(20))


def test_a_leads_time_zone_is_set_on_its_page_and_goes_with_its_messages(
    portal_client, account, sender
):
    # given a lead whose number says New York but who lives in Los Angeles
    lead = factories.LeadFactory(account=account, phone="+12025550150")
    url = reverse("portal:campaigns_lead_edit", args=[lead.pk])
    response = portal_client.post(
        url, {"phone": lead.phone, "time_zone": "America/Los_Angeles"}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.time_zone == "America/Los_Angeles"
    # when a campaign texts the lead's list, then its message counts quiet hours there
    lead_list = factories.LeadListFactory(account=account)
    lead.lists.add(lead_list)
    campaign = factories.CampaignFactory(account=account, sender=sender)
    campaign.lists.add(lead_list)
    Campaign.objects.filter(pk=campaign.pk).update(state="processing")
    campaign_fan_out(campaign_id=campaign.pk)
    assert (
        Message.objects.get(campaign=campaign).recipient_zone == "America/Los_Angeles"
    )
    page = portal_client.get(reverse("portal:campaigns_lead_change", args=[lead.pk]))
    assert "America/Los_Angeles" in page.content.decode()
