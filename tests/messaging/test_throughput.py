"""Throughput: senders' limits hold across workers, and replies go before campaigns."""

import threading
from datetime import timedelta

import pytest

from django.db import connection
from django.utils import timezone

from messaging.dispatch import _claim, messages_send
from messaging.models import Brand, Message, Sender
from messaging.throughput import BRAND_DAY_ZONE, per_second
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db


def _queued(campaign, count: int, **kwargs) -> list[int]:
    expires = timezone.now() + timedelta(hours=1)
    return [
        MessageFactory(campaign=campaign, expires_at=expires, **kwargs).pk
        for _ in range(count)
    ]


def test_a_10dlc_message_class_caps_the_senders_pace():
    # class T: 75 a minute, slower than the number's 10 a second
    assert per_second(throughput=10, per_minute_limit=None, message_class="T") == 1.25
    assert per_second(throughput=10, per_minute_limit=None, message_class="") == 10
    assert per_second(throughput=10, per_minute_limit=1200, message_class="T") == 10


def test_a_reply_goes_before_a_big_queued_campaign(campaign, account):
    # given a campaign batch that took the sender's next 100 seconds of slots
    Sender.objects.filter(pk=campaign.sender_id).update(throughput_per_second=10)
    _claim(_queued(campaign, 900), timezone.now())
    # when a one-off message is claimed
    reply = MessageFactory(
        campaign=None,
        account=account,
        sender=campaign.sender,
        lead=None,
        phone="+12025550199",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    claimed, slots = _claim([reply.pk], timezone.now())
    # then its slot is now, on its own lane, not after the campaign's
    assert [m.pk for m in claimed] == [reply.pk]
    slot = slots[(campaign.sender_id, True)]
    assert slot.start - timezone.now() < timedelta(seconds=1)
    # and the two lanes together keep to the sender's 10 a second
    assert slot.interval == pytest.approx(1.0)  # its 10%: one a second
    sender = Sender.objects.get(pk=campaign.sender_id)
    bulk = (sender.next_send_at - timezone.now()).total_seconds()
    assert bulk == pytest.approx(900 / 9, abs=2)  # the campaign's 90%


def test_a_brands_daily_cap_holds_the_rest_until_midnight_pacific(campaign):
    # given a brand with 3 texts left today and 5 queued messages
    brand = Brand.objects.create(account=campaign.account, name="Acme", daily_limit=3)
    Sender.objects.filter(pk=campaign.sender_id).update(
        brand=brand, throughput_per_second=1000
    )
    ids = _queued(campaign, 5)
    # when they are sent
    assert messages_send(message_ids=ids) == 3
    # then the other two wait, queued, for T-Mobile's next day
    held = Message.objects.filter(pk__in=ids, status="queued")
    assert {m.hold for m in held} == {"daily_limit"} and held.count() == 2
    release = held.first().next_attempt_at.astimezone(BRAND_DAY_ZONE)
    assert (release.hour, release.minute) == (0, 0)
    assert release.date() == timezone.now().astimezone(BRAND_DAY_ZONE).date() + (
        timedelta(days=1)
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_limits_hold_across_two_concurrent_claimers(postgres, campaign):
    # given 1,200 queued messages of one sender at 20 a second, with a daily cap of 1,000
    brand = Brand.objects.create(
        account=campaign.account, name="Acme", daily_limit=1000
    )
    Sender.objects.filter(pk=campaign.sender_id).update(
        brand=brand, throughput_per_second=20
    )
    ids = _queued(campaign, 1200)
    results = []
    barrier = threading.Barrier(2)

    def claim(batch):
        try:
            barrier.wait()
            results.append(_claim(batch, timezone.now()))
        finally:
            connection.close()

    # when two workers claim halves of them at once
    threads = [
        threading.Thread(target=claim, args=(half,)) for half in (ids[::2], ids[1::2])
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the cap holds: 1,000 claimed, 200 held
    claimed = [m for batch, _ in results for m in batch]
    assert len(claimed) == 1000
    assert Message.objects.filter(pk__in=ids, hold="daily_limit").count() == 200
    # and their reserved slots never overlap: together no more than 20 a second (90% lane)
    spans = sorted(
        (slots.start, slots.at(len([m for m in batch if m.sender_id == key[0]])))
        for batch, lanes in results
        for key, slots in lanes.items()
    )
    assert len(spans) == 2 and spans[0][1] <= spans[1][0]
    interval = next(iter(results[0][1].values())).interval
    assert interval == pytest.approx(1 / 18)
