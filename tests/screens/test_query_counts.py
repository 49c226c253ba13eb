"""Each screen runs the same number of queries at 1 row and at 50 rows."""

import pytest

from django.urls import reverse
from django.utils import timezone

from campaigns.leads import lead_delete
from campaigns.models import Lead, LeadList
from messaging.models import OptOut, OptOutEvent
from messaging.statuses import Status
from tests import factories
from tests.screens.conftest import SPREAD, campaign_with_messages

pytestmark = pytest.mark.django_db

# Session, user, the user's account ids; then the screen's own queries.
BUDGET = {
    # the held messages inside In-queue among them; + the delivery monitor:
    # open alerts, outcome rows (titles joined), senders; the count rows per step
    "dashboard": 18,
    "drill_down": 8,
    "history": 10,  # the conversation: account (credit), senders, default sender
    "sms_log": 5,
    "campaign_list": 5,
    "lead_list": 6,  # and the account's lists for the list filter
    "lead_lists": 5,
    "list_members": 7,
    "opt_outs": 5,
    # + the monitor: alerts, outcome chart, carriers, figures; + the count rows
    # per step and the later steps
    "campaign_page": 16,
    "deleted_leads": 6,
}


@pytest.fixture
def many(account, sender, error_code):
    def build(n: int):
        campaigns = [
            campaign_with_messages(account=account, sender=sender, error=error_code)
            for _ in range(n)
        ]
        campaign = campaigns[0]
        for _ in range(n - 1):  # n leads in the first campaign's Error bucket
            factories.MessageFactory(
                campaign=campaign, status=Status.UNDELIVERED, error=error_code
            )
        lead = campaign.messages.filter(status=Status.UNDELIVERED).first().lead
        for _ in range(n):  # n leads deleted after the launch: n Deleted leads
            lead_delete(lead=factories.MessageFactory(campaign=campaign).lead)
        for i in range(n):  # n messages and n opt-out events in one lead's history
            other = factories.CampaignFactory(account=account, sender=sender)
            factories.MessageFactory(
                campaign=other,
                lead=lead,
                status=SPREAD[i % len(SPREAD)],
                error=error_code
                if SPREAD[i % len(SPREAD)] == Status.UNDELIVERED
                else None,
            )
            OptOutEvent.objects.create(
                account=account,
                phone=lead.phone,
                opted_out=i % 2 == 0,
                source="keyword",
                created_at=timezone.now(),
            )
        # n lists; the first with every lead, deleted or opted out ones too
        lead_lists = factories.LeadListFactory.create_batch(n, account=account)
        lead_lists[0].leads.add(*Lead.objects.filter(account=account))
        for i in range(n):
            OptOut.objects.create(account=account, phone=f"+1202555{i:04d}")
        return campaign, lead

    return build


def _urls(campaign, lead) -> dict[str, str]:
    return {
        "dashboard": reverse("portal:index"),
        "drill_down": reverse(
            "portal:campaigns_campaign_bucket", args=[campaign.pk, "error"]
        ),
        "history": reverse("portal:campaigns_lead_change", args=[lead.pk]),
        "sms_log": reverse("portal:messaging_message_changelist"),
        "campaign_list": reverse("portal:campaigns_campaign_changelist"),
        "lead_list": reverse("portal:campaigns_lead_changelist"),
        "lead_lists": reverse("portal:campaigns_leadlist_changelist"),
        "list_members": reverse(
            "portal:campaigns_leadlist_change",
            args=[LeadList.objects.filter(account=lead.account).first().pk],
        ),
        "opt_outs": reverse("portal:messaging_optout_changelist"),
        "campaign_page": reverse(
            "portal:campaigns_campaign_change", args=[campaign.pk]
        ),
        "deleted_leads": reverse(
            "portal:campaigns_campaign_bucket", args=[campaign.pk, "deleted_leads"]
        ),
    }


@pytest.mark.parametrize("rows", [1, 50])
@pytest.mark.parametrize("screen", sorted(BUDGET))
def test_screen_query_count_is_flat(
    portal_client, many, django_assert_num_queries, rows, screen
):
    campaign, lead = many(rows)
    url = _urls(campaign, lead)[screen]
    portal_client.get(url)  # warm the session so both runs do the same work
    with django_assert_num_queries(BUDGET[screen]):
        response = portal_client.get(url)
    assert response.status_code == 200
