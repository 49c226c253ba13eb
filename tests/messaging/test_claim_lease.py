"""Claims: a live worker keeps them however long it paces; a dead one's are settled in a minute."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
import time_machine

from django.utils import timezone

from messaging.dispatch import (
    ClaimLease,
    messages_release_stuck,
    messages_send,
)
from messaging.models import Message, MessageEvent, Sender
from messaging.providers.simulator import sends_recorded
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def _sending(campaign, claimed_at) -> Message:
    return MessageFactory(
        campaign=campaign,
        status="sending",
        claimed_at=claimed_at,
        send_tries=1,
        billed=True,
        expires_at=claimed_at + timedelta(hours=1),
    )


def test_a_dead_workers_claim_is_settled_about_a_minute_later(campaign):
    # given a message a worker claimed 90 seconds ago, then died with
    message = _sending(campaign, timezone.now() - timedelta(seconds=90))
    # when the stuck sweep runs, then it settles it (the simulator cannot say: unknown)
    assert messages_release_stuck() == 1
    message.refresh_from_db()
    assert (message.status, message.error.code) == ("unknown", "send_interrupted")


def test_a_live_worker_pacing_for_minutes_keeps_its_claim_and_sends_once(
    campaign, settings, tmp_path, monkeypatch
):
    # given a message whose sender's slots are taken for the next eleven minutes
    settings.SIMULATOR_SEND_LOG = str(tmp_path / "sends.log")
    start = timezone.now()
    Sender.objects.filter(pk=campaign.sender_id).update(
        throughput_per_second=1, next_send_at=start + timedelta(minutes=11)
    )
    message = MessageFactory(
        campaign=campaign,
        lead__phone="+15005550000",
        expires_at=start + timedelta(hours=1),
    )
    settled = []
    with time_machine.travel(start, tick=False) as traveller:
        clock = SimpleNamespace(now=0.0)

        def sleep(seconds: float) -> None:
            # the worker waits; meanwhile beat runs the stuck sweep
            clock.now += seconds
            traveller.shift(timedelta(seconds=seconds))
            settled.append(messages_release_stuck())

        monkeypatch.setattr(
            "messaging.dispatch.time",
            SimpleNamespace(sleep=sleep, monotonic=lambda: clock.now),
        )
        # when the worker paces until its slot, then sends
        assert messages_send(message_ids=[message.pk]) == 1
    # then the sweep never took the claim, and the simulator got the message once
    assert settled and sum(settled) == 0
    assert not MessageEvent.objects.filter(message=message, kind="sweep").exists()
    assert sends_recorded(settings.SIMULATOR_SEND_LOG)[str(message.uuid)] == 1


def test_a_worker_frozen_past_its_lease_does_not_send_what_the_sweep_settled(
    campaign,
):
    # given a worker holding two claims, then frozen for two minutes
    claimed_at = timezone.now() - timedelta(minutes=2)
    kept, settled = _sending(campaign, claimed_at), _sending(campaign, claimed_at)
    lease = ClaimLease([kept, settled], claimed_at)
    # while the sweep gave one of them back to the queue
    Message.objects.filter(pk=settled.pk).update(status="queued")
    # when the worker wakes up, then it sends only the one still its own
    assert lease.holds(kept) and not lease.holds(settled)
    kept.refresh_from_db()
    assert kept.claimed_at > claimed_at  # renewed
