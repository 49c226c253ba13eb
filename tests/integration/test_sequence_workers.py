"""A 3-step sequence on real workers, through a worker killed mid-step: each step once per lead."""

import time
from collections import Counter
from datetime import timedelta

import pytest

from django.db.models import F
from django.utils import timezone

from campaigns.launch import campaign_launch
from campaigns.management.demo_run import demo_campaign_create
from campaigns.models import CampaignStep
from campaigns.steps import campaigns_send_due_steps, campaigns_with_steps_to_come
from messaging.dispatch import STUCK_AFTER, messages_release_stuck, messages_requeue_due
from messaging.models import Message
from messaging.providers.simulator import sends_recorded
from messaging.statuses import Status
from portal.models import Account
from tests.integration.workers import pipeline_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEADS = 2000
TIMEOUT = 120  # seconds: a healthy run takes a fraction of this


def _sweep_until(done, *, deadline: float) -> None:
    """Run the step sweep as beat would, until `done()`."""
    while not done():
        assert time.monotonic() < deadline, "the sequence never got there"
        campaigns_send_due_steps()
        time.sleep(0.2)


def test_a_sequence_through_a_killed_worker_sends_each_step_once(
    publishing, broker_url, start_worker, tmp_path
):
    # given a 3-step sequence whose later steps are due as soon as the previous
    # one was sent, paced so that a step takes a few seconds
    worker = start_worker()
    campaign = demo_campaign_create(leads=LEADS, throughput=500)
    Account.objects.filter(pk=campaign.account_id).update(credit_balance=10 * LEADS)
    for number in (2, 3):
        CampaignStep.objects.create(
            campaign=campaign,
            number=number,
            body=f"Step {number} for {{first_name}}",
            delay=0,
            delay_unit=CampaignStep.Unit.MINUTES,
        )
    campaign_launch(campaign_id=campaign.pk, launched_by=None, confirm_warnings=True)
    messages = Message.objects.filter(campaign=campaign)
    deadline = time.monotonic() + TIMEOUT

    # when the worker is killed while step 2 is being sent
    _sweep_until(
        lambda: messages.filter(step=2, sent_at__isnull=False).count() >= LEADS // 8
        and messages.filter(step=2, status=Status.SENDING).exists(),
        deadline=deadline,
    )
    worker.kill()
    # and the sweeps settle its claims as beat would later, then a new worker starts
    messages.filter(status=Status.SENDING).update(
        claimed_at=F("claimed_at") - STUCK_AFTER - timedelta(minutes=1)
    )
    messages_release_stuck()
    messages_requeue_due(now=timezone.now() + timedelta(minutes=3))
    start_worker()
    _sweep_until(
        lambda: not campaigns_with_steps_to_come([campaign.pk])
        and pipeline_wait(campaign_id=campaign.pk, broker_url=broker_url, timeout=2),
        deadline=deadline,
    )

    # then each lead has at most one message per step, and step 3 reached most
    per_step = Counter(messages.values_list("lead_id", "step"))
    assert set(per_step.values()) == {1}
    steps = Counter(step for _, step in per_step)
    assert steps[1] == LEADS and 0 < steps[3] <= steps[2] <= LEADS
    # and the provider got each message at most once, each sent one exactly once
    sends = sends_recorded(tmp_path / "sends.log")
    rows = list(
        messages.values_list("uuid", "lead_id", "step", "created_at", "sent_at")
    )
    for uuid, _, _, _, sent_at in rows:
        assert sends.get(str(uuid), 0) == 1 if sent_at else sends.get(str(uuid), 0) <= 1
    # and no step went before the lead's previous step was sent
    sent = {(lead, step): sent_at for _, lead, step, _, sent_at in rows}
    for _, lead, step, created_at, _ in rows:
        if step > 1:
            assert sent[(lead, step - 1)] is not None
            assert sent[(lead, step - 1)] <= created_at
