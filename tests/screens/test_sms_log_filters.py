"""The SMS log refuses a campaign filter it cannot apply, never lists or exports everything."""

import pytest

from django.urls import reverse

from tests import factories

pytestmark = pytest.mark.django_db

LOG = "portal:messaging_message_changelist"
EXPORT = "portal:messaging_message_export"


@pytest.fixture
def messages_of_two_accounts(account, sender):
    mine = factories.MessageFactory(campaign__account=account, campaign__sender=sender)
    theirs = factories.MessageFactory()
    return mine, theirs


def foreign_campaign(messages):
    return str(messages[1].campaign_id)


def not_a_number(messages):
    return "7 OR 1=1"


def missing_campaign(messages):
    return "999999"


@pytest.mark.parametrize("value", [foreign_campaign, not_a_number, missing_campaign])
@pytest.mark.parametrize("view", [LOG, EXPORT])
def test_a_campaign_filter_that_cannot_be_applied_is_refused(
    portal_client, messages_of_two_accounts, value, view
):
    # when
    response = portal_client.get(
        reverse(view), {"campaign": value(messages_of_two_accounts)}
    )
    # then the page says why and neither lists nor exports anything
    assert response.status_code == 400
    assert not response.streaming
    page = response.content.decode()
    assert "These filters cannot be used, so nothing is listed or exported" in page
    assert "Campaign: none of your campaigns has this id." in page
    assert response.context["rows"] == []


def test_an_own_campaign_filter_still_exports_its_messages(
    portal_client, messages_of_two_accounts
):
    mine, _ = messages_of_two_accounts
    response = portal_client.get(reverse(EXPORT), {"campaign": mine.campaign_id})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == [str(mine.pk)]
