"""The campaign page's actions call the campaign services."""

import pytest

from django.contrib.admin.models import LogEntry
from django.urls import reverse

from campaigns.models import Campaign
from messaging.statuses import Status
from tests import factories
from tests.screens.conftest import campaign_with_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(account, sender):
    leads = factories.LeadListFactory(account=account)
    leads.leads.add(*factories.LeadFactory.create_batch(3, account=account))
    campaign = factories.CampaignFactory(account=account, sender=sender)
    campaign.lists.add(leads)
    return campaign


def _action(client, campaign, action, **data):
    url = reverse("portal:campaigns_campaign_action", args=[campaign.pk, action])
    return client.post(url, data)


def test_launch_shows_the_check_then_launches(portal_client, draft):
    # given: the check step
    response = _action(portal_client, draft, "preview")
    assert response.status_code == 302
    page = portal_client.get(response.url)
    assert page.context["preview"]["leads"] == 3
    assert "Launch check" in page.content.decode()
    # when
    response = _action(portal_client, draft, "launch", confirm_warnings="1")
    # then
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state != Campaign.State.DRAFT


def test_launch_refused_shows_the_problems(portal_client, account):
    empty = factories.CampaignFactory(account=account, body="")
    response = _action(portal_client, empty, "launch")
    page = portal_client.get(response.url)
    assert [m.level_tag for m in page.context["messages"]]
    empty.refresh_from_db()
    assert empty.state == Campaign.State.DRAFT


def test_cancel_asks_first_then_cancels_queued_messages(
    portal_client, account, sender, error_code, member
):
    campaign = campaign_with_messages(
        account=account, sender=sender, error=error_code, statuses=[Status.QUEUED]
    )
    url = reverse("portal:campaigns_campaign_cancel", args=[campaign.pk])
    # the campaign page links to a confirmation, which changes nothing by itself
    page = portal_client.get(
        reverse("portal:campaigns_campaign_change", args=[campaign.pk])
    )
    assert url in page.content.decode()
    confirm = portal_client.get(url).content.decode()
    assert "1 queued message will not be sent" in confirm
    assert "Yes, cancel the campaign" in confirm
    assert campaign.messages.get().status == Status.QUEUED
    # confirming cancels and leaves an audit entry with the user
    response = portal_client.post(url)
    assert response.status_code == 302
    assert campaign.messages.get().status == Status.CANCELED
    entry = LogEntry.objects.get(object_id=str(campaign.pk))
    assert entry.user == member
    assert "Canceled: 1 queued message will not be sent" in entry.change_message


def test_unknown_action_is_404(portal_client, campaign, member):
    assert _action(portal_client, campaign, "explode").status_code == 404


def test_actions_need_post(portal_client, campaign, member):
    url = reverse("portal:campaigns_campaign_action", args=[campaign.pk, "resend"])
    assert portal_client.get(url).status_code == 405
