"""The fan-out's outbox sweep: a launch whose fan-out never ran is handed to a worker again."""

from datetime import timedelta
from unittest import mock

import pytest

from django.utils import timezone

from campaigns.fan_out import campaign_fan_out, campaigns_resume_fan_outs
from campaigns.models import Campaign
from messaging.models import Message
from tests.factories import CampaignFactory, LeadFactory, LeadListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def launched(account, sender):
    """A campaign launched just now whose fan-out task never arrives."""
    leads = LeadListFactory(account=account)
    leads.leads.add(*LeadFactory.create_batch(2, account=account))
    campaign = CampaignFactory(account=account, sender=sender)
    campaign.lists.add(leads)
    # Not backdated: on PostgreSQL the change feed's trigger refuses an
    # updated_at earlier than its transaction; the sweeps run "later" instead.
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.PROCESSING)
    return campaign


def test_an_idle_fan_out_is_published_again_once_per_stall_period(
    launched, django_capture_on_commit_callbacks
):
    now = timezone.now() + timedelta(minutes=5)
    with (
        mock.patch("campaigns.tasks.fan_out_campaign_task.apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert campaigns_resume_fan_outs(now=now) == 1
        assert campaigns_resume_fan_outs(now=now + timedelta(seconds=30)) == 0
    publish.assert_called_once_with(args=[launched.pk], countdown=0)


def test_a_fan_out_in_progress_or_finished_is_left_alone(
    launched, django_capture_on_commit_callbacks
):
    # given one campaign fanned out, and one whose fan-out just wrote a batch
    with django_capture_on_commit_callbacks(execute=True):
        campaign_fan_out(campaign_id=launched.pk)
    moving = CampaignFactory(
        account=launched.account, sender=launched.sender, state="processing"
    )
    with mock.patch("campaigns.tasks.fan_out_campaign_task.apply_async") as publish:
        assert campaigns_resume_fan_outs() == 0
    publish.assert_not_called()
    assert moving.fanned_out_at is None


def test_a_late_duplicate_fan_out_adds_no_lead_who_joined_after_it(
    launched, django_capture_on_commit_callbacks
):
    # given a fan-out that ran, then a lead added to the list
    with django_capture_on_commit_callbacks(execute=True):
        campaign_fan_out(campaign_id=launched.pk)
    launched.lists.get().leads.add(LeadFactory(account=launched.account))
    # when a duplicate of its task arrives late
    assert campaign_fan_out(campaign_id=launched.pk) == 0
    # then the campaign still has one message per lead it was launched to
    assert Message.objects.filter(campaign=launched).count() == 2
