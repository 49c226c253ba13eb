"""Another account's campaign, lead or message is a 404 on the portal, whatever the URL."""

import pytest

from django.urls import reverse

from tests import factories
from tests.screens.conftest import campaign_with_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def foreign_campaign(db, error_code):
    other = factories.AccountFactory()
    sender = factories.SenderFactory(account=other)
    return campaign_with_messages(account=other, sender=sender, error=error_code)


@pytest.mark.parametrize(
    "name, args",
    [
        ("portal:campaigns_campaign_change", lambda c: [c.pk]),
        ("portal:campaigns_campaign_bucket", lambda c: [c.pk, "error"]),
        ("portal:campaigns_campaign_bucket", lambda c: [c.pk, "deleted_leads"]),
        ("portal:campaigns_lead_change", lambda c: [c.messages.first().lead_id]),
        ("portal:messaging_message_change", lambda c: [c.messages.first().pk]),
        (
            "portal:campaigns_leadlist_change",
            lambda c: [factories.LeadListFactory(account=c.account).pk],
        ),
    ],
)
def test_other_accounts_objects_are_404(portal_client, foreign_campaign, name, args):
    assert (
        portal_client.get(reverse(name, args=args(foreign_campaign))).status_code == 404
    )


def test_campaign_actions_on_other_accounts_are_404(portal_client, foreign_campaign):
    url = reverse(
        "portal:campaigns_campaign_action", args=[foreign_campaign.pk, "cancel"]
    )
    assert portal_client.post(url).status_code == 404


def test_lists_and_log_show_only_own_accounts(
    portal_client, account, sender, error_code, foreign_campaign
):
    own = campaign_with_messages(account=account, sender=sender, error=error_code)
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert own.name in html and foreign_campaign.name not in html
    for name in [
        "portal:campaigns_campaign_changelist",
        "portal:campaigns_lead_changelist",
        "portal:messaging_message_changelist",
    ]:
        html = portal_client.get(reverse(name)).content.decode()
        assert foreign_campaign.name not in html
        assert foreign_campaign.messages.first().phone not in html
    # a foreign campaign is not a valid filter choice: refused, nothing listed
    # or exported (test_sms_log_filters.py)
    for name in [
        "portal:messaging_message_changelist",
        "portal:messaging_message_export",
    ]:
        response = portal_client.get(reverse(name), {"campaign": foreign_campaign.pk})
        assert response.status_code == 400
        assert response.context["rows"] == []
        assert foreign_campaign.name not in response.content.decode()


def test_support_site_needs_staff(portal_client):
    assert portal_client.get("/support/").status_code == 302


def test_support_site_shows_all_accounts_read_only(
    client, foreign_campaign, account, sender, error_code
):
    own = campaign_with_messages(account=account, sender=sender, error=error_code)
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    staff.save()
    client.force_login(staff)
    html = client.get("/support/messaging/message/").content.decode()
    assert foreign_campaign.name in html and own.name in html
    message = own.messages.first()
    response = client.get(f"/support/messaging/message/{message.pk}/change/")
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
