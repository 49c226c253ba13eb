"""Count rows: after every kind of write they equal a GROUP BY over the messages."""

import threading
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.db import connection, transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from campaigns.leads import lead_delete
from campaigns.models import Campaign, Lead
from campaigns.selectors import (
    campaign_bucket_counts,
    campaign_error_counts,
    lead_list_for_bucket,
)
from campaigns.services import (
    campaign_cancel,
    campaign_resend_failed,
)
from messaging.catalog import error_get
from messaging.counts import message_counts_squash
from messaging.dispatch import messages_release_stuck
from messaging.inbound import inbound_receive
from messaging.models import Message, MessageCount, MessageEvent
from messaging.providers.base import Inbound, StatusUpdate
from messaging.services import messages_apply_statuses
from messaging.statuses import Bucket, Status, rollup
from messaging.sweeps import messages_expire, messages_mark_unknown
from messaging.widgets import recent_errors_context
from portal.models import Account
from tests import factories

pytestmark = pytest.mark.django_db

KEY = ["account_id", "campaign_id", "day", "step", "status", "error_id"]


def counted() -> dict[tuple, int]:
    """What the count rows say, per key (keys summing to zero are no count)."""
    rows = MessageCount.objects.values_list(*KEY).annotate(n=Sum("count")).order_by()
    return {tuple(key): n for *key, n in rows if n}


def grouped() -> dict[tuple, int]:
    """The truth: current messages grouped by the same key."""
    rows = (
        Message.objects.filter(superseded=False)
        .annotate(day=TruncDate("created_at"))
        .values_list(*KEY)
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {tuple(key): n for *key, n in rows}


def assert_counts_exact() -> None:
    assert counted() == grouped()


def test_fan_out_claims_sends_and_receipts_are_counted(launched):
    # the launch ran the fan-out (with a rejected lead), claims, sends,
    # receipts and a requeue for the provider that was unavailable
    statuses = set(Message.objects.values_list("status", flat=True))
    assert {"delivered", "undelivered", "sent", "queued", "rejected"} <= statuses
    assert_counts_exact()
    counts = campaign_bucket_counts(campaign_ids=[launched.pk])[launched.pk]
    direct = (
        Message.objects.filter(campaign=launched, superseded=False)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    assert counts == {**rollup(direct), "deleted_leads": 0}


def test_sweeps_are_counted():
    now = timezone.now()
    factories.MessageFactory(expires_at=now - timedelta(minutes=1))
    silent = factories.MessageFactory(status=Status.SENT)
    Message.objects.filter(pk=silent.pk).update(sent_at=now - timedelta(hours=73))
    factories.MessageFactory(
        status=Status.SENDING,
        claimed_at=now - timedelta(hours=1),
        campaign__sender=factories.SenderFactory(),
    )

    assert messages_expire(now=now) == 1
    assert messages_mark_unknown(now=now) == 1
    assert messages_release_stuck(now=now) == 1
    assert_counts_exact()


def test_resend_moves_the_old_attempt_out_of_the_counts(campaign):
    # given a temporary failure in the Error bucket
    temporary = error_get(provider="twilio", code="30003")
    factories.MessageFactory(
        campaign=campaign, status=Status.UNDELIVERED, error=temporary
    )
    # when it is resent
    assert campaign_resend_failed(campaign_id=campaign.pk, actor=None) == 1
    # then only the new attempt counts, in the queue
    assert_counts_exact()
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk])[campaign.pk]
    assert (counts["error"], counts["in_queue"]) == (0, 1)
    assert campaign_error_counts(campaign_ids=[campaign.pk]) == {}


def test_cancel_is_counted(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(state="in_progress")
    factories.MessageFactory.create_batch(3, campaign=campaign)
    factories.MessageFactory(campaign=campaign, status=Status.SENT)
    assert campaign_cancel(campaign_id=campaign.pk, actor=None) == 3
    assert_counts_exact()
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk])[campaign.pk]
    assert (counts["canceled"], counts["outbox"]) == (3, 1)


def test_inbound_and_deletes_are_counted(sender):
    inbound_receive(
        sender=sender,
        messages=[
            Inbound(
                provider_message_id="SMin1",
                from_number="+12025550123",
                to_number=sender.phone_number,
                body="Hello?",
            )
        ],
    )
    doomed = factories.MessageFactory.create_batch(2, status=Status.DELIVERED)
    assert_counts_exact()
    Message.objects.filter(pk__in=[m.pk for m in doomed]).delete()
    assert_counts_exact()


def test_squash_keeps_totals_and_leaves_one_row_per_key(campaign):
    messages = factories.MessageFactory.create_batch(4, campaign=campaign)
    for status in (Status.SENDING, Status.SENT, Status.DELIVERED):
        Message.objects.filter(pk__in=[m.pk for m in messages]).update(
            status=status, sent_at=timezone.now(), final_at=timezone.now()
        )
    before = counted()
    rows = MessageCount.objects.count()

    message_counts_squash()

    assert counted() == before == grouped()
    assert MessageCount.objects.count() < rows
    # keys whose rows sum to zero are gone: only "delivered" is left
    assert list(MessageCount.objects.values_list("status", "count")) == [
        (Status.DELIVERED, 4)
    ]
    assert message_counts_squash() == 0


def test_deleted_leads_are_the_request_deleted_after_the_launch(campaign):
    # given a campaign to a list, launched an hour ago and fanned out since
    launched = timezone.now() - timedelta(hours=1)
    leads = factories.LeadListFactory(account=campaign.account)
    campaign.lists.add(leads)
    Campaign.objects.filter(pk=campaign.pk).update(
        launched_at=launched, fanned_out_at=launched + timedelta(minutes=1)
    )
    before = factories.LeadFactory(account=campaign.account)  # deleted before launch
    before.lists.add(leads)
    Lead.objects.filter(pk=before.pk).update(deleted_at=launched - timedelta(minutes=5))
    # messages to three leads, one of them resent (its first attempt superseded)
    first, second, kept = factories.MessageFactory.create_batch(3, campaign=campaign)
    Message.objects.filter(pk=first.pk).update(superseded=True)
    factories.MessageFactory(campaign=campaign, lead=first.lead, attempt=2)
    # a lead of the list the fan-out skipped: deleted after launch, before its end
    skipped = factories.LeadFactory(account=campaign.account)
    skipped.lists.add(leads)
    Lead.objects.filter(pk=skipped.pk).update(
        deleted_at=launched + timedelta(seconds=30)
    )
    # a lead added to the list after the fan-out, then deleted: never requested
    later = factories.LeadFactory(account=campaign.account)
    later.lists.add(leads)
    elsewhere = factories.MessageFactory(
        campaign__state="in_progress", campaign__launched_at=launched
    )  # another account's campaign
    # when two leads with messages, the late one and the other account's are deleted
    for lead in (first.lead, second.lead, later, elsewhere.lead):
        lead_delete(lead=lead)
    # then each lead of the request deleted since the launch counts once, in its
    # own campaign only; the drill-down lists the same leads
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk, elsewhere.campaign_id])
    assert counts[campaign.pk]["deleted_leads"] == 3
    assert counts[elsewhere.campaign_id]["deleted_leads"] == 1
    campaign.refresh_from_db()
    listed = lead_list_for_bucket(campaign=campaign, bucket=Bucket.DELETED_LEADS)
    assert set(listed) == {first.lead, second.lead, skipped}
    # and a draft counts none
    draft = factories.CampaignFactory(account=campaign.account)
    draft.lists.add(leads)
    assert (
        campaign_bucket_counts(campaign_ids=[draft.pk])[draft.pk]["deleted_leads"] == 0
    )
    assert not lead_list_for_bucket(campaign=draft, bucket=Bucket.DELETED_LEADS)


def test_recent_errors_count_this_weeks_messages_by_day(account, campaign):
    error = error_get(provider="twilio", code="30007")
    old = factories.MessageFactory.create_batch(
        2, campaign=campaign, status=Status.UNDELIVERED, error=error
    )
    Message.objects.filter(pk__in=[m.pk for m in old]).update(
        created_at=timezone.now() - timedelta(days=7)
    )
    factories.MessageFactory.create_batch(
        3, campaign=campaign, status=Status.UNDELIVERED, error=error
    )
    context = recent_errors_context(None, Account.objects.filter(pk=account.pk))
    assert [(e["error"].code, e["count"]) for e in context["recent_errors"]] == [
        ("30007", 3)
    ]


# The property: any sequence of writes, through the services or straight SQL,
# leaves the count rows equal to the GROUP BY.
PICK = st.tuples(st.integers(1, 3), st.integers(0, 2))  # every k-th message from r
STATUS = st.sampled_from(Status.values)
ERROR = st.sampled_from([None, ("twilio", "30003"), ("twilio", "30007")])
OPERATION = st.one_of(
    st.tuples(st.just("create"), st.integers(1, 4), st.integers(0, 2), STATUS, ERROR),
    st.tuples(st.just("fan_out"), st.integers(0, 1)),
    st.tuples(st.just("update"), PICK, STATUS, ERROR),
    st.tuples(st.just("receipts"), PICK, STATUS, ERROR),
    st.tuples(st.just("resend"), st.integers(0, 1)),
    st.tuples(st.just("bulk_update_error"), PICK, ERROR),
    st.tuples(st.just("redate"), PICK, st.integers(0, 3)),
    st.tuples(st.just("delete"), PICK),
    st.just(("squash",)),
)


class World:
    """An account with two campaigns and three leads; operations write to its messages."""

    def __init__(self) -> None:
        self.account = factories.AccountFactory()
        sender = factories.SenderFactory(account=self.account)
        self.campaigns = factories.CampaignFactory.create_batch(
            2, account=self.account, sender=sender
        )
        self.leads = factories.LeadFactory.create_batch(3, account=self.account)
        self.now = timezone.now()

    def error(self, key):
        return error_get(provider=key[0], code=key[1]) if key else None

    def message(self, status, error, **fields) -> Message:
        # Both timestamps set, so that any status passes the check constraints.
        return Message(
            account=self.account,
            phone="+12025550199",
            body="Hi",
            status=status,
            error=self.error(error),
            sent_at=self.now,
            final_at=self.now,
            **fields,
        )

    def picked(self, pick) -> list[int]:
        k, r = pick
        ids = Message.objects.order_by("pk").values_list("pk", flat=True)
        return [pk for n, pk in enumerate(ids) if n % k == r]

    def apply(self, op) -> None:
        name, *args = op
        getattr(self, name)(*args)

    def create(self, n, campaign, status, error) -> None:
        campaign_id = self.campaigns[campaign].pk if campaign < 2 else None
        Message.objects.bulk_create(
            [self.message(status, error, campaign_id=campaign_id) for _ in range(n)]
        )

    def fan_out(self, campaign) -> None:
        # A re-run inserts nothing: the unique (campaign, lead, attempt) ignores it.
        Message.objects.bulk_create(
            [
                self.message(
                    Status.QUEUED, None, campaign=self.campaigns[campaign], lead=lead
                )
                for lead in self.leads
            ],
            ignore_conflicts=True,
        )

    def update(self, pick, status, error) -> None:
        Message.objects.filter(pk__in=self.picked(pick)).update(
            status=status, error=self.error(error), sent_at=self.now, final_at=self.now
        )

    def receipts(self, pick, status, error) -> None:
        update = StatusUpdate(status=status, error=self.error(error))
        messages_apply_statuses(updates=[(pk, update) for pk in self.picked(pick)])

    def resend(self, campaign) -> None:
        campaign_resend_failed(campaign_id=self.campaigns[campaign].pk, actor=None)

    def bulk_update_error(self, pick, error) -> None:
        messages = list(Message.objects.filter(pk__in=self.picked(pick)))
        for message in messages:
            message.error = self.error(error)
        Message.objects.bulk_update(messages, ["error"])

    def redate(self, pick, days) -> None:
        Message.objects.filter(pk__in=self.picked(pick)).update(
            created_at=self.now - timedelta(days=days)
        )

    def delete(self, pick) -> None:
        ids = self.picked(pick)
        MessageEvent.objects.filter(message__in=ids).delete()
        Message.objects.filter(pk__in=ids, retries__isnull=True).delete()

    def squash(self) -> None:
        message_counts_squash()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(operations=st.lists(OPERATION, min_size=1, max_size=10))
def test_counts_equal_the_messages_after_any_writes(db, operations):
    with transaction.atomic():
        world = World()
        for operation in operations:
            world.apply(operation)
            assert_counts_exact()
        transaction.set_rollback(True)


def test_copy_is_counted(postgres, campaign):
    # given messages written with COPY, as the bulk fan-out does
    built = factories.MessageFactory.build_batch(
        3, campaign=campaign, lead=None, phone="+12025550100", updated_at=timezone.now()
    )
    fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f.column for f in fields)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            f"COPY messaging_message ({columns}) FROM STDIN"
        ) as copy:
            for message in built:
                copy.write_row([getattr(message, f.attname) for f in fields])
    # then the statement trigger counted them
    assert_counts_exact()
    assert counted() != {}


@pytest.mark.django_db(transaction=True)
def test_squash_running_alongside_writers_loses_nothing(postgres):
    # given writers inserting and moving messages in many short transactions
    account = factories.AccountFactory()
    campaign = factories.CampaignFactory(account=account)
    stop = threading.Event()
    failures: list[BaseException] = []
    squashes: list[int] = []

    def in_thread(work) -> None:
        try:
            work()
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)
        finally:
            connection.close()

    def write() -> None:
        for _ in range(30):
            with transaction.atomic():
                created = Message.objects.bulk_create(
                    factories.MessageFactory.build_batch(
                        5, campaign=campaign, lead=None, phone="+12025550100"
                    )
                )
                Message.objects.filter(pk__in=[m.pk for m in created[:3]]).update(
                    status=Status.DELIVERED, final_at=timezone.now()
                )

    def squash() -> None:
        while not stop.is_set():
            squashes.append(message_counts_squash())

    writers = [threading.Thread(target=in_thread, args=(write,)) for _ in range(3)]
    squashers = [threading.Thread(target=in_thread, args=(squash,)) for _ in range(2)]
    # when two squashes run over and over while they write
    for thread in squashers + writers:
        thread.start()
    for thread in writers:
        thread.join()
    stop.set()
    for thread in squashers:
        thread.join()

    # then every message is counted exactly once, and the squash did fold rows
    assert failures == []
    assert any(squashes)
    assert_counts_exact()
    assert sum(counted().values()) == 3 * 30 * 5
