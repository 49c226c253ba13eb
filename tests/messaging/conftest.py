"""Fixtures shared by the messaging tests."""

import pytest

from campaigns.launch import campaign_launch
from tests import factories


@pytest.fixture
def launched(account, sender, django_capture_on_commit_callbacks):
    """A campaign launched to one lead per simulator outcome, plus one refused lead."""
    leads = factories.LeadListFactory(account=account)
    campaign = factories.CampaignFactory(
        account=account, sender=sender, body="Hi {first_name}! Reply STOP to opt out."
    )
    campaign.lists.add(leads)
    for phone in ("+15005550000", "+15005550003", "+15005550005", "+15005550007"):
        factories.LeadFactory(account=account, phone=phone).lists.add(leads)
    factories.LeadFactory(account=account, phone="+1555").lists.add(leads)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    return campaign
