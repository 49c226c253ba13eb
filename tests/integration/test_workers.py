"""A campaign on real Celery workers: every message handed over once, even through a crash."""

import time
from datetime import timedelta

import pytest

from django.db.models import F
from django.utils import timezone

from campaigns.launch import campaign_launch
from campaigns.management.demo_run import demo_campaign_create, demo_report
from messaging.dispatch import STUCK_AFTER, messages_release_stuck, messages_requeue_due
from messaging.models import Message
from messaging.providers.simulator import sends_recorded
from messaging.statuses import FINAL, Status
from tests.integration.workers import pipeline_wait

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEADS = 3000
TIMEOUT = 45  # seconds: a healthy run takes a fraction of this


def _messages(campaign) -> dict[str, tuple[str, str | None]]:
    """Each message's uuid, with its status and error code."""
    return {
        str(uuid): (status, code)
        for uuid, status, code in Message.objects.filter(campaign=campaign).values_list(
            "uuid", "status", "error__code"
        )
    }


def test_a_campaign_runs_to_its_last_receipt_on_real_workers(
    publishing, broker_url, start_worker, tmp_path
):
    # given a worker and a campaign of a few thousand leads
    start_worker()
    campaign = demo_campaign_create(leads=LEADS)
    # when it is launched and the workers have nothing left to do
    campaign_launch(campaign_id=campaign.pk, launched_by=None)
    assert pipeline_wait(
        campaign_id=campaign.pk, broker_url=broker_url, timeout=TIMEOUT
    )
    # then every message ended final or in the outbox, and the buckets add up
    report = demo_report(
        campaign_id=campaign.pk, send_log=tmp_path / "sends.log", seconds=0
    )
    assert sum(report.buckets.values()) == LEADS
    assert (report.lost, report.duplicates_sent) == (0, 0)
    # and the simulator was handed each message exactly once
    messages = _messages(campaign)
    sends = sends_recorded(tmp_path / "sends.log")
    assert {uuid: sends[uuid] for uuid in messages} == dict.fromkeys(messages, 1)


def test_a_worker_killed_mid_campaign_sends_nothing_twice(
    publishing, broker_url, start_worker, tmp_path
):
    # given a campaign paced to take several seconds, a quarter sent, a batch in hand
    worker = start_worker()
    campaign = demo_campaign_create(leads=LEADS, throughput=500)
    campaign_launch(campaign_id=campaign.pk, launched_by=None)
    messages = Message.objects.filter(campaign=campaign)
    deadline = time.monotonic() + TIMEOUT
    while not (
        messages.filter(sent_at__isnull=False).count() >= LEADS // 4
        and messages.filter(status=Status.SENDING).exists()
    ):
        assert time.monotonic() < deadline, "the worker never got going"
        time.sleep(0.05)
    # when the worker and its pool are killed at once, mid-batch
    worker.kill()
    in_flight = list(
        messages.filter(status=Status.SENDING).values_list("uuid", flat=True)
    )
    # and the sweeps run as beat would run them later, then a new worker starts
    messages.filter(status=Status.SENDING).update(
        claimed_at=F("claimed_at") - STUCK_AFTER - timedelta(minutes=1)
    )
    messages_release_stuck()
    messages_requeue_due(now=timezone.now() + timedelta(minutes=3))
    start_worker()
    assert pipeline_wait(
        campaign_id=campaign.pk, broker_url=broker_url, timeout=TIMEOUT
    )
    # then every message, those in the dead worker's hands included, was
    # handed to the provider exactly once: the sweep asked the simulator which
    # it had got and sent only the others
    assert in_flight
    outcomes = _messages(campaign)
    sends = sends_recorded(tmp_path / "sends.log")
    assert {uuid: sends[uuid] for uuid in outcomes} == dict.fromkeys(outcomes, 1)
    # and each ended final or in the outbox
    for uuid, (status, code) in outcomes.items():
        assert status in FINAL | {Status.SENT}, (uuid, status, code)
    report = demo_report(
        campaign_id=campaign.pk, send_log=tmp_path / "sends.log", seconds=0
    )
    assert sum(report.buckets.values()) == LEADS
