"""The status machine: one table of every (current, incoming) pair, and its properties."""

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.db import connection

from messaging.models import Message, MessageEvent
from messaging.providers.base import StatusUpdate
from messaging.services import message_apply_status
from messaging.statuses import (
    BUCKET,
    FINAL,
    Bucket,
    Status,
    bucket_of,
    can_move,
    rollup,
    word_status,
)
from tests.factories import MessageFactory

pytestmark = pytest.mark.django_db

# The spec, written out by hand (ARCHITECTURE.md section 2): Y = the incoming
# status is applied, . = recorded as an event and otherwise ignored.
TABLE = """
current     queued sending sent unknown delivered undelivered failed rejected expired canceled
queued        .      Y      Y     Y        Y          Y         Y       Y        Y       Y
sending       .      .      Y     Y        Y          Y         Y       Y        Y       Y
sent          .      .      .     Y        Y          Y         Y       Y        Y       Y
unknown       .      .      .     .        Y          Y         Y       Y        Y       Y
delivered     .      .      .     .        .          .         .       .        .       .
undelivered   .      .      .     .        .          .         .       .        .       .
failed        .      .      .     .        .          .         .       .        .       .
rejected      .      .      .     .        .          .         .       .        .       .
expired       .      .      .     .        .          .         .       .        .       .
canceled      .      .      .     .        .          .         .       .        .       .
"""


def _table() -> list[tuple[str, str, bool]]:
    header, *rows = TABLE.strip().splitlines()
    incoming = header.split()[1:]
    pairs = []
    for row in rows:
        current, *cells = row.split()
        pairs += [
            (current, status, cell == "Y")
            for status, cell in zip(incoming, cells, strict=True)
        ]
    return pairs


@pytest.mark.parametrize(("current", "incoming", "applies"), _table())
def test_status_update_follows_the_table(current, incoming, applies):
    # given
    message = MessageFactory(status=current)
    # when
    changed = message_apply_status(
        message_id=message.pk, update=StatusUpdate(status=Status(incoming))
    )
    # then the message moved only where the table says, and an event was kept either way
    message.refresh_from_db()
    assert changed is applies
    assert message.status == (incoming if applies else current)
    event = MessageEvent.objects.get(message=message)
    assert (event.from_status, event.status, event.applied) == (
        current,
        incoming,
        applies,
    )
    if message.status in FINAL:
        assert message.final_at is not None


def test_every_status_has_a_bucket():
    assert set(BUCKET) == set(Status.values)
    assert bucket_of(Status.SENT) == Bucket.OUTBOX
    assert bucket_of(Status.DELIVERED) == Bucket.SENT
    assert {bucket_of(s) for s in ("undelivered", "failed", "rejected", "expired")} == {
        Bucket.ERROR
    }


def test_rollup_counts_every_bucket():
    totals = rollup([("queued", 2), ("sending", 1), ("rejected", 4), ("failed", 1)])
    assert totals["in_queue"] == 3
    assert totals["error"] == 5
    assert totals["outbox"] == 0
    assert set(totals) == set(Bucket.values)


@pytest.mark.parametrize(
    ("word", "provider", "status"),
    [
        ("Delivered to operator", None, "sent"),
        ("Outbox", None, "sent"),
        ("Sent", "aninja", "delivered"),
        ("Sent", None, "sent"),
        ("Status Unavailable", None, "unknown"),
        ("queued", "twilio", "sent"),
        ("delivery_unconfirmed", "telnyx", "unknown"),
        ("message-failed", "bandwidth", "undelivered"),
        ("DELIVRD", "smpp", "delivered"),
    ],
)
def test_provider_and_seed_words_map_to_canonical_statuses(word, provider, status):
    assert word_status(word, provider) == status


# A message's true receipts: what its provider and the sweeps really say, in order.
TRUE_HISTORIES = [
    ["sending", "sent", "delivered"],
    ["sending", "sent", "undelivered"],
    ["sending", "failed"],
    ["sending", "sent", "unknown", "delivered"],
    ["sent", "unknown", "undelivered"],
    ["rejected"],
]


def _fold(start: str, receipts: list[str]) -> str:
    status = start
    for incoming in receipts:
        if can_move(status, incoming):
            status = incoming
    return status


@given(
    history=st.sampled_from(TRUE_HISTORIES),
    data=st.data(),
)
def test_any_order_and_duplication_of_receipts_ends_the_same(history, data):
    shuffled = data.draw(
        st.permutations(history + data.draw(st.lists(st.sampled_from(history))))
    )
    assert _fold("queued", shuffled) == history[-1]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(history=st.sampled_from(TRUE_HISTORIES), data=st.data())
def test_service_ends_in_the_true_final_status_whatever_the_order(history, data):
    # given a queued message and its receipts, shuffled and duplicated
    receipts = data.draw(
        st.permutations(history + data.draw(st.lists(st.sampled_from(history))))
    )
    message = MessageFactory()
    # when each is applied as it arrives
    for status in receipts:
        message_apply_status(
            message_id=message.pk, update=StatusUpdate(status=Status(status))
        )
    # then the message ends where its true history ends, with one event per receipt
    message.refresh_from_db()
    assert message.status == history[-1]
    assert message.events.count() == len(receipts)


@pytest.mark.django_db(transaction=True)
def test_concurrent_conflicting_receipts_never_lose_one(postgres):
    # given messages that receive "delivered" and "undelivered" at the same instant
    messages = MessageFactory.create_batch(20, status=Status.SENT)
    for message in messages:
        barrier = threading.Barrier(2)

        def apply(status: str, message_id: int = message.pk, barrier=barrier) -> None:
            barrier.wait()
            try:
                message_apply_status(
                    message_id=message_id, update=StatusUpdate(status=status)
                )
            finally:
                connection.close()

        threads = [
            threading.Thread(target=apply, args=(s,))
            for s in ("delivered", "undelivered")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # then exactly one won, both were recorded, and the winner is the stored status
        events = list(MessageEvent.objects.filter(message_id=message.pk))
        assert len(events) == 2
        winners = [event.status for event in events if event.applied]
        assert len(winners) == 1
        assert Message.objects.get(pk=message.pk).status == winners[0]
