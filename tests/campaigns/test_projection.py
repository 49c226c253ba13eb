"""The composer's finish time: the sender's pace, the leads' quiet hours, in the account's zone."""

from datetime import UTC, datetime

import pytest
import time_machine

from campaigns.composer import leads_of_lists
from campaigns.projection import campaign_finish_estimate
from messaging.models import Brand
from portal.models import Account
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(account):
    Account.objects.filter(pk=account.pk).update(time_zone="America/New_York")
    account.refresh_from_db()
    lead_list = factories.LeadListFactory(account=account)
    for n in range(100):
        lead = factories.LeadFactory(account=account, phone=f"+1202555{n:04d}")
        lead.lists.add(lead_list)
    return leads_of_lists(account_id=account.pk, list_ids=[lead_list.pk])


def _estimate(account, sender, leads, texted=100):
    return campaign_finish_estimate(
        account=account, sender=sender, leads=leads, texted=texted
    )


def test_a_campaign_inside_the_window_finishes_at_the_senders_pace(
    settings, account, sender, leads
):
    settings.PORTAL_QUIET_HOURS = True
    sender.throughput_per_second = 1
    sender.reply_share_percent = 50  # campaigns get half: one every 2 s
    # Wednesday 10:00 in New York
    with time_machine.travel(datetime(2026, 6, 10, 14, 0, tzinfo=UTC), tick=False):
        assert _estimate(account, sender, leads) == "about 3 min; finishes today 10:03"


def test_quiet_hours_push_the_finish_to_the_next_morning(
    settings, account, sender, leads
):
    settings.PORTAL_QUIET_HOURS = True
    sender.throughput_per_second = 1
    sender.per_minute_limit = 1  # a text a minute (90% of it for campaigns)
    # 20:00 in New York: an hour of sending tonight, the rest from 8:00
    with time_machine.travel(datetime(2026, 6, 11, 0, 0, tzinfo=UTC), tick=False):
        words = _estimate(account, sender, leads)
    assert words == "about 12 h 52 min; finishes tomorrow 08:52 because of quiet hours"


def test_a_brands_daily_cap_pushes_the_finish_to_its_next_day(
    settings, account, sender, leads
):
    sender.throughput_per_second = 100
    sender.brand = Brand.objects.create(account=account, name="Acme", daily_limit=40)
    with time_machine.travel(datetime(2026, 6, 10, 14, 0, tzinfo=UTC), tick=False):
        words = _estimate(account, sender, leads)
    # 40 today, 40 from midnight Pacific (3:00 in New York), 20 the night after
    assert words.endswith("because of the brand's daily cap")
    assert "Fri 12 Jun 03:00" in words
