"""A broker outage on real workers: what was launched or sent meanwhile goes out once it is back."""

from datetime import timedelta

import pytest

from django.utils import timezone

from campaigns.fan_out import campaigns_resume_fan_outs
from campaigns.launch import campaign_launch
from campaigns.management.demo_run import demo_campaign_create
from campaigns.models import Campaign
from messaging.dispatch import messages_requeue_due
from messaging.models import Message
from messaging.outbound import message_send
from messaging.providers.simulator import sends_recorded
from portal.publishing import QueueUnavailable
from tests.conftest import broker_refusing
from tests.integration.workers import pipeline_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEADS = 300
TIMEOUT = 45  # seconds: a healthy run takes a fraction of this


def test_what_was_launched_and_sent_while_the_broker_was_down_goes_out_once(
    publishing, broker_url, start_worker, tmp_path
):
    # given a campaign and a one-off message, both started while the broker
    # refuses connections
    campaign = demo_campaign_create(leads=LEADS)
    with broker_refusing():
        with pytest.raises(QueueUnavailable):
            campaign_launch(campaign_id=campaign.pk, launched_by=None)
        one_off = message_send(
            account=campaign.account,
            sender_id=campaign.sender_id,
            phone="+15005550000",
            body="Sent during the outage",
        )
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PROCESSING
    assert not Message.objects.filter(campaign=campaign).exists()
    # when the broker is back, a worker starts and beat's sweeps come round
    start_worker()
    later = timezone.now() + timedelta(minutes=3)
    assert campaigns_resume_fan_outs(now=later) == 1
    assert messages_requeue_due(now=later) >= 1
    assert pipeline_wait(
        campaign_id=campaign.pk, broker_url=broker_url, timeout=TIMEOUT
    )
    # then every lead got one message, and the simulator got each message once
    messages = list(
        Message.objects.filter(campaign=campaign).values_list("uuid", flat=True)
    )
    leads = Message.objects.filter(campaign=campaign).values("lead").distinct()
    assert len(messages) == leads.count() == LEADS
    sends = sends_recorded(tmp_path / "sends.log")
    assert {str(u): sends.get(str(u)) for u in messages} == {
        str(u): 1 for u in messages
    }
    assert sends[str(one_off.uuid)] == 1
