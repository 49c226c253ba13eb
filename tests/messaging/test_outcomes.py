"""Outcome count rows (the delivery monitor's): after every write they equal a GROUP BY."""

from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from messaging.counts import message_counts_squash
from messaging.models import Message, MessageEvent, OutcomeCount
from messaging.monitor import (
    ANSWERED,
    OVER_A_DAY,
    RECEIPT_BANDS,
    campaign_carriers,
    monitor_figures,
)
from messaging.providers.base import StatusUpdate
from messaging.services import messages_apply_statuses
from messaging.statuses import Status
from messaging.sweeps import messages_expire, messages_mark_unknown
from tests import factories

pytestmark = pytest.mark.django_db

KEY = [
    "account_id",
    "campaign_id",
    "sender_id",
    "minute",
    "status",
    "error_id",
    "carrier",
    "receipt_within",
]
OUTCOMES = ANSWERED | {Status.REJECTED, Status.EXPIRED}


def counted() -> dict[tuple, int]:
    rows = OutcomeCount.objects.values_list(*KEY).annotate(n=Sum("count")).order_by()
    return {tuple(key): n for *key, n in rows if n}


def band(message: Message) -> int | None:
    if message.status not in (Status.DELIVERED, Status.UNDELIVERED):
        return None
    if not (message.sent_at and message.final_at):
        return None
    took = (message.final_at - message.sent_at).total_seconds()
    return next((edge for edge in RECEIPT_BANDS if took <= edge), OVER_A_DAY)


def grouped() -> dict[tuple, int]:
    """The truth, computed in Python from the messages."""
    truth: Counter = Counter()
    for m in Message.objects.filter(
        superseded=False, direction="outbound", status__in=OUTCOMES
    ):
        moment = (m.final_at or m.updated_at).replace(second=0, microsecond=0)
        key = (m.account_id, m.campaign_id, m.sender_id, moment, m.status)
        truth[(*key, m.error_id, m.carrier or "", band(m))] += 1
    return dict(truth)


def test_the_pipeline_is_counted_by_minute_and_receipt_band(launched):
    assert {"delivered", "undelivered", "rejected"} <= set(
        Message.objects.values_list("status", flat=True)
    )
    assert counted() == grouped()
    message_counts_squash()
    assert counted() == grouped()


def test_sweeps_late_receipts_and_deletes_are_counted(campaign):
    now = timezone.now()
    factories.MessageFactory(campaign=campaign, expires_at=now - timedelta(minutes=1))
    silent = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    Message.objects.filter(pk=silent.pk).update(sent_at=now - timedelta(hours=73))
    assert messages_expire(now=now) == 1
    assert messages_mark_unknown(now=now) == 1
    assert counted() == grouped()
    # a receipt three days late moves it from unknown to delivered, "over a day"
    messages_apply_statuses(updates=[(silent.pk, StatusUpdate(Status.DELIVERED))])
    assert counted() == grouped()
    assert OutcomeCount.objects.filter(receipt_within=OVER_A_DAY).aggregate(
        n=Sum("count")
    ) == {"n": 1}
    MessageEvent.objects.all().delete()
    Message.objects.all().delete()
    assert counted() == {}


def test_triggers_exist_on_both_databases():
    # a migration that rebuilds messaging_message on SQLite drops them
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND name LIKE 'messaging_message_outcome_%'"
            )
        else:
            cursor.execute(
                "SELECT tgname FROM pg_trigger "
                "WHERE tgname LIKE 'messaging_message_outcome_%'"
            )
        assert len(cursor.fetchall()) == 3


def test_carrier_from_a_receipt_is_kept_and_counted(campaign):
    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    other = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    messages_apply_statuses(
        updates=[
            (message.pk, StatusUpdate(Status.DELIVERED, carrier="T-MOBILE USA, INC.")),
            (other.pk, StatusUpdate(Status.DELIVERED)),
        ]
    )
    message.refresh_from_db()
    assert message.carrier == "T-MOBILE USA, INC."
    rows = {
        r["carrier"]: r["figures"].answered
        for r in campaign_carriers(campaign_id=campaign.pk)
    }
    assert rows == {"T-MOBILE USA, INC.": 1, "": 1}


def test_monitor_figures_come_from_count_rows_in_a_constant_number_of_queries(
    account, sender, django_assert_num_queries
):
    now = timezone.now()
    for _ in range(3):
        campaign = factories.CampaignFactory(account=account, sender=sender)
        for status in (
            Status.DELIVERED,
            Status.DELIVERED,
            Status.UNDELIVERED,
            Status.UNKNOWN,
            Status.REJECTED,
        ):
            factories.MessageFactory(campaign=campaign, status=status)
    old = factories.MessageFactory(campaign=campaign, status=Status.DELIVERED)
    Message.objects.filter(pk=old.pk).update(final_at=now - timedelta(hours=3))
    with django_assert_num_queries(1):
        figures = monitor_figures(account_ids=[account.pk], now=now)
    hour = figures["hour"]["account"][account.pk]
    day = figures["day"]["account"][account.pk]
    # rejected is the portal's refusal, not a delivery outcome
    assert (hour.answered, hour.delivered, hour.errors, hour.unknown) == (12, 6, 3, 3)
    assert day.answered == 13
    assert hour.error_rate == 25.0
    assert figures["hour"]["sender"][sender.pk].answered == 12
    assert figures["hour"]["campaign"][campaign.pk].answered == 4


MOVES = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(
            [Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.UNKNOWN]
        ),
        st.sampled_from(["", "VERIZON"]),
    ),
    max_size=8,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moves=MOVES)
def test_any_sequence_of_receipts_keeps_the_outcome_counts_exact(campaign, moves):
    MessageEvent.objects.all().delete()
    Message.objects.all().delete()
    messages = factories.MessageFactory.create_batch(
        3, campaign=campaign, status=Status.SENDING
    )
    for index, status, carrier in moves:
        messages_apply_statuses(
            updates=[(messages[index].pk, StatusUpdate(status, carrier=carrier))]
        )
    assert counted() == grouped()
