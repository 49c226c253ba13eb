"""Sequences: each step goes to each lead once, after its delay, unless a stop rule ended it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django.db import connection, connections, transaction

from campaigns.fan_out import campaign_fan_out
from campaigns.models import Campaign, CampaignStep
from campaigns.schedule import (
    campaign_schedule,
    campaign_unschedule,
    campaigns_launch_scheduled,
)
from campaigns.selectors import campaign_bucket_counts
from campaigns.services import campaign_cancel, campaigns_close
from campaigns.steps import campaigns_send_due_steps, leads_for_step
from messaging.models import ErrorCode, Message, OptOut
from messaging.statuses import FINAL, Bucket, Status
from tests.factories import CampaignFactory, LeadFactory, LeadListFactory

pytestmark = pytest.mark.django_db

START = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def _sequence(account, sender, *, leads=3, **options):
    """A launched, fanned-out 3-step campaign: step 2 an hour after 1, step 3 a day after 2."""
    campaign = CampaignFactory(
        account=account,
        sender=sender,
        body="Hi {first_name}, step one. Reply STOP to opt out.",
        state=Campaign.State.PROCESSING,
        launched_at=START,
        **options,
    )
    CampaignStep.objects.create(
        campaign=campaign, number=2, body="Step two", delay=1, delay_unit="hours"
    )
    CampaignStep.objects.create(
        campaign=campaign, number=3, body="Step three", delay=1, delay_unit="days"
    )
    lead_list = LeadListFactory(account=account)
    campaign.lists.set([lead_list])
    for n in range(leads):
        LeadFactory(account=account, phone=f"+1202555{n:04d}").lists.add(lead_list)
    campaign_fan_out(campaign_id=campaign.pk)
    return campaign


def _send(campaign, step, *, at, status=Status.SENT, **fields):
    """The step's queued messages reach the provider at `at`."""
    return Message.objects.filter(
        campaign=campaign, step=step, status=Status.QUEUED, **fields
    ).update(status=status, sent_at=at, final_at=at if status in FINAL else None)


def _steps_of(campaign) -> dict[str, list[int]]:
    steps: dict[str, list[int]] = {}
    for phone, step in Message.objects.filter(campaign=campaign).values_list(
        "phone", "step"
    ):
        steps.setdefault(phone, []).append(step)
    return {phone: sorted(s) for phone, s in steps.items()}


@pytest.fixture
def sequence(account, sender):
    return _sequence(account, sender)


def test_a_step_waits_for_its_delay_then_goes_once(sequence):
    _send(sequence, 1, at=START)
    with time_machine.travel(START + timedelta(minutes=59)):
        assert campaigns_send_due_steps() == 0
    with time_machine.travel(START + timedelta(hours=1)):
        assert campaigns_send_due_steps() == 3
        assert campaigns_send_due_steps() == 0
    second = Message.objects.filter(campaign=sequence, step=2)
    assert {m.body for m in second} == {"Step two"}
    assert all(set(s) == {1, 2} for s in _steps_of(sequence).values())


def test_the_next_step_counts_from_each_leads_own_send(sequence):
    first, *later = Message.objects.filter(campaign=sequence, step=1).order_by("pk")
    _send(sequence, 1, at=START, pk=first.pk)
    _send(sequence, 1, at=START + timedelta(hours=2))
    with time_machine.travel(START + timedelta(hours=1, minutes=30)):
        campaigns_send_due_steps()
    assert _steps_of(sequence)[first.phone] == [1, 2]
    assert all(_steps_of(sequence)[m.phone] == [1] for m in later)


def test_a_lead_whose_step_was_not_sent_gets_no_more(sequence):
    rejected = Message.objects.filter(campaign=sequence, step=1).first()
    Message.objects.filter(pk=rejected.pk).update(status=Status.EXPIRED, final_at=START)
    _send(sequence, 1, at=START)
    with time_machine.travel(START + timedelta(hours=2)):
        assert campaigns_send_due_steps() == 2
    assert _steps_of(sequence)[rejected.phone] == [1]


@pytest.fixture
def permanent(db):
    return ErrorCode.objects.create(
        provider="twilio",
        code="21211-test",
        title="Invalid number",
        meaning="Not a mobile number.",
        resolution="Remove it.",
        category=ErrorCode.Category.INVALID_NUMBER,
        temporary=False,
        billable=False,
        number_advice=ErrorCode.NumberAdvice.REMOVE,
        status=Status.UNDELIVERED,
    )


def _stop_each_way(campaign, permanent):
    """Of the three leads: one replies, one opts out, one hits a permanent error."""
    _send(campaign, 1, at=START)
    replied, opted_out, failed = Message.objects.filter(
        campaign=campaign, step=1
    ).order_by("pk")
    Message.objects.create(
        account=campaign.account,
        lead=replied.lead,
        phone=replied.phone,
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        body="Who is this?",
        created_at=START + timedelta(minutes=5),
        final_at=START + timedelta(minutes=5),
    )
    OptOut.objects.create(
        account=campaign.account, phone=opted_out.phone, source="keyword"
    )
    Message.objects.filter(pk=failed.pk).update(
        status=Status.UNDELIVERED, error=permanent, final_at=START
    )


def test_stop_rules_end_a_leads_sequence(sequence, permanent):
    _stop_each_way(sequence, permanent)
    with time_machine.travel(START + timedelta(days=3)):
        assert campaigns_send_due_steps() == 0
    assert all(steps == [1] for steps in _steps_of(sequence).values())


def test_without_stop_rules_a_sequence_goes_on_but_never_texts_an_opt_out(
    account, sender, permanent
):
    campaign = _sequence(
        account,
        sender,
        stop_on_reply=False,
        stop_on_opt_out=False,
        stop_on_permanent_error=False,
    )
    _stop_each_way(campaign, permanent)
    with time_machine.travel(START + timedelta(hours=2)):
        assert campaigns_send_due_steps() == 2
    statuses = dict(
        Message.objects.filter(campaign=campaign, step=2).values_list("phone", "status")
    )
    assert sorted(statuses.values()) == [Status.QUEUED, Status.QUEUED, Status.REJECTED]


def test_a_reply_before_the_first_step_was_sent_does_not_stop(sequence):
    lead = Message.objects.filter(campaign=sequence, step=1).first().lead
    Message.objects.create(
        account=sequence.account,
        lead=lead,
        phone=lead.phone,
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        body="an old text",
        created_at=START - timedelta(days=1),
        final_at=START - timedelta(days=1),
    )
    _send(sequence, 1, at=START)
    with time_machine.travel(START + timedelta(hours=2)):
        assert campaigns_send_due_steps() == 3


def test_cancel_stops_every_future_step(sequence):
    _send(sequence, 1, at=START)
    with time_machine.travel(START + timedelta(hours=1)):
        campaigns_send_due_steps()
    campaign_cancel(campaign_id=sequence.pk, actor=None)
    with time_machine.travel(START + timedelta(days=5)):
        _send(sequence, 2, at=START + timedelta(hours=2))  # none: all canceled
        assert campaigns_send_due_steps() == 0
    assert not Message.objects.filter(campaign=sequence, step=3).exists()
    assert set(
        Message.objects.filter(campaign=sequence, step=2).values_list(
            "status", flat=True
        )
    ) == {Status.CANCELED}


def test_a_fixed_time_step_goes_at_that_time(sequence):
    CampaignStep.objects.filter(campaign=sequence, number=2).update(
        send_at=START + timedelta(days=2)
    )
    _send(sequence, 1, at=START)
    with time_machine.travel(START + timedelta(days=2) - timedelta(seconds=1)):
        assert campaigns_send_due_steps() == 0
    with time_machine.travel(START + timedelta(days=2)):
        assert campaigns_send_due_steps() == 3


@pytest.mark.parametrize("include_new_leads", [False, True])
def test_a_lead_added_after_launch_gets_it_only_when_asked(
    account, sender, include_new_leads
):
    campaign = _sequence(account, sender, leads=1, include_new_leads=include_new_leads)
    late = LeadFactory(account=account, phone="+12025559999")
    late.lists.add(campaign.lists.get())
    campaigns_send_due_steps()
    assert ("+12025559999" in _steps_of(campaign)) is include_new_leads


def test_the_campaign_is_done_when_its_last_step_window_closes(sequence):
    _send(sequence, 1, at=START, status=Status.DELIVERED)
    Campaign.objects.filter(pk=sequence.pk).update(state=Campaign.State.IN_PROGRESS)
    with time_machine.travel(START + timedelta(minutes=30)):
        assert campaigns_close() == 0  # step 2 and 3 still to come
    for step, at in ((2, timedelta(hours=1)), (3, timedelta(days=1, hours=1))):
        with time_machine.travel(START + at):
            assert campaigns_send_due_steps() == 3
            _send(sequence, step, at=START + at, status=Status.DELIVERED)
            assert campaigns_close() == (1 if step == 3 else 0)
    sequence.refresh_from_db()
    assert sequence.state == Campaign.State.DONE


def test_counts_per_step_come_from_the_count_rows(sequence):
    _send(sequence, 1, at=START)
    with time_machine.travel(START + timedelta(hours=1)):
        campaigns_send_due_steps()
    totals = campaign_bucket_counts(campaign_ids=[sequence.pk])[sequence.pk]
    assert totals[Bucket.OUTBOX] == 3 and totals[Bucket.IN_QUEUE] == 3


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    moves=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=30),  # hours forward
            st.integers(min_value=1, max_value=3),  # which step's queue is sent
            st.booleans(),  # a second sweep right after
        ),
        max_size=8,
    )
)
def test_whatever_the_timing_each_step_goes_once_and_after_its_delay(
    account, sender, moves
):
    with transaction.atomic():  # each example starts from the same leads
        campaign = _sequence(account, sender, leads=4)
        now = START
        for hours, step, twice in moves:
            now += timedelta(hours=hours)
            with time_machine.travel(now):
                _send(campaign, step, at=now)
                campaigns_send_due_steps()
                if twice:
                    campaigns_send_due_steps()
        delays = {2: timedelta(hours=1), 3: timedelta(days=1)}
        messages = {
            (m.lead_id, m.step): m for m in Message.objects.filter(campaign=campaign)
        }
        assert len(messages) == Message.objects.filter(campaign=campaign).count()
        for (lead_id, step), message in messages.items():
            if step > 1:
                previous = messages[(lead_id, step - 1)]
                assert previous.sent_at + delays[step] <= message.created_at
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_step_once(postgres, account, sender):
    campaign = _sequence(account, sender, leads=50)
    _send(campaign, 1, at=START)
    # the simulator has sent step 1 already (tasks run at each commit here)
    step = campaign.steps.get(number=2)
    due = set(
        leads_for_step(campaign, step, now=START + timedelta(hours=1)).values_list(
            "pk", flat=True
        )
    )
    assert due
    barrier, errors = threading.Barrier(2), []

    def sweep() -> None:
        try:
            barrier.wait()
            with time_machine.travel(START + timedelta(hours=1), tick=False):
                campaigns_send_due_steps()
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    second = Message.objects.filter(campaign=campaign, step=2)
    assert sorted(second.values_list("lead_id", flat=True)) == sorted(due)
    assert connection.vendor == "postgresql"


def test_a_scheduled_campaign_launches_once_at_its_time(
    account, sender, member, django_capture_on_commit_callbacks
):
    campaign = _sequence(account, sender, leads=2)
    Campaign.objects.filter(pk=campaign.pk).update(
        state=Campaign.State.DRAFT, launched_at=None, fanned_out_at=None
    )
    Message.objects.filter(campaign=campaign).delete()
    with time_machine.travel(START - timedelta(days=1)):
        campaign_schedule(
            campaign_id=campaign.pk,
            at=START,
            actor=member,
            confirm_warnings=True,
        )
    with time_machine.travel(START - timedelta(seconds=1)):
        assert campaigns_launch_scheduled() == 0
    with (
        time_machine.travel(START),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert campaigns_launch_scheduled() == 1
        assert campaigns_launch_scheduled() == 0
    campaign.refresh_from_db()
    assert campaign.state != Campaign.State.DRAFT
    assert campaign.launched_by == member
    assert Message.objects.filter(campaign=campaign, step=1).count() == 2


def test_an_unscheduled_campaign_stays_a_draft(campaign, member):
    Campaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=START, scheduled_by=member
    )
    assert campaign_unschedule(campaign_id=campaign.pk, actor=member)
    with time_machine.travel(START + timedelta(hours=1)):
        assert campaigns_launch_scheduled() == 0
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT and campaign.scheduled_at is None


def test_a_scheduled_launch_the_check_refuses_is_unscheduled(campaign, member):
    Campaign.objects.filter(pk=campaign.pk).update(
        scheduled_at=START, scheduled_by=member
    )  # no lists: the check refuses it
    with time_machine.travel(START):
        assert campaigns_launch_scheduled() == 0
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT and campaign.scheduled_at is None
