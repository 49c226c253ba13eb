"""Quiet hours: no message reaches a provider outside its recipient's window, in any zone."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from messaging.dispatch import messages_requeue_due, messages_send
from messaging.models import Message, MessageEvent, Sender
from messaging.quiet_hours import number_facts, sending_hours
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
WINDOW = (time(8), time(21))
# A number per case: one zone, a stricter state, a number spanning two zones.
DC = "+12025550100"  # America/New_York
FLORIDA = "+13055550100"  # America/New_York, 8:00-20:00
IDAHO = "+12085550100"  # America/Boise and America/Los_Angeles
TEXAS = "+12145550100"  # America/Chicago, 9:00-21:00, Sunday from noon
HAWAII = "+18085550100"  # Pacific/Honolulu, no DST
PHONES = [DC, FLORIDA, IDAHO, TEXAS, HAWAII]


def _hours(phone: str, *, zone: str = "", window=WINDOW):
    return sending_hours(
        window=window, phone=phone, recipient_zone=zone, fallback_zone="UTC"
    )


def _open_by_hand(phone: str, at: datetime) -> bool:
    """The rule written out plainly, per zone: the oracle for the property tests."""
    facts = number_facts(phone)
    for name in facts.zones:
        local = at.astimezone(ZoneInfo(name))
        start, end = WINDOW
        if facts.rule:
            rule = facts.rule.sunday if local.weekday() == 6 else facts.rule.weekdays
            start, end = max(start, rule[0]), min(end, rule[1])
        if not start <= local.time() < end:
            return False
    return True


def test_a_number_knows_its_zones_and_its_states_stricter_rule():
    assert number_facts(FLORIDA).zones == ("America/New_York",)
    assert number_facts(FLORIDA).rule.weekdays == (time(8), time(20))
    assert number_facts(IDAHO).zones == ("America/Boise", "America/Los_Angeles")
    assert number_facts(DC).rule is None


def test_florida_closes_at_eight_in_the_evening_and_opens_at_eight():
    at = datetime(2026, 6, 10, 20, 30, tzinfo=NEW_YORK)
    assert _hours(DC).release_at(at) == at  # 20:30 is inside 8:00-21:00
    assert _hours(FLORIDA).release_at(at) == datetime(
        2026, 6, 11, 8, 0, tzinfo=NEW_YORK
    )


def test_a_number_spanning_two_zones_waits_for_the_window_open_in_both():
    # 8:30 in Boise is 7:30 in Los Angeles: wait until 8:00 there (9:00 in Boise)
    at = datetime(2026, 6, 10, 8, 30, tzinfo=ZoneInfo("America/Boise"))
    release = _hours(IDAHO).release_at(at)
    assert release == datetime(
        2026, 6, 10, 8, 0, tzinfo=ZoneInfo("America/Los_Angeles")
    )
    # and it closes at 21:00 in Boise, while Los Angeles would still be open
    late = datetime(2026, 6, 10, 21, 5, tzinfo=ZoneInfo("America/Boise"))
    assert not _hours(IDAHO).is_open(late)


def test_texas_waits_until_noon_on_sunday():
    sunday = datetime(2026, 6, 14, 10, 0, tzinfo=ZoneInfo("America/Chicago"))
    assert _hours(TEXAS).release_at(sunday) == sunday.replace(hour=12)


def test_the_leads_own_zone_wins_over_the_numbers():
    at = datetime(2026, 6, 10, 22, 0, tzinfo=NEW_YORK)  # 19:00 in Los Angeles
    assert not _hours(DC).is_open(at)
    assert _hours(DC, zone="America/Los_Angeles").is_open(at)


@pytest.mark.parametrize(
    "at,release",
    [
        # spring forward (8 March 2026): 8:00 EDT is 12:00 UTC, not 13:00
        (
            datetime(2026, 3, 8, 3, 0, tzinfo=UTC),
            datetime(2026, 3, 8, 12, 0, tzinfo=UTC),
        ),
        # fall back (1 November 2026): 8:00 EST is 13:00 UTC
        (
            datetime(2026, 11, 1, 3, 0, tzinfo=UTC),
            datetime(2026, 11, 1, 13, 0, tzinfo=UTC),
        ),
    ],
)
def test_the_release_follows_daylight_saving_time(at, release):
    assert _hours(DC).release_at(at) == release


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)
).map(lambda at: at.replace(tzinfo=UTC))
# Around the US changes, where an hour is missing or doubled.
dst_instants = st.sampled_from(
    [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)]
).flatmap(lambda day: st.integers(0, 48 * 60).map(lambda m: day + timedelta(minutes=m)))


@given(phone=st.sampled_from(PHONES), at=st.one_of(instants, dst_instants))
@hypothesis_settings(max_examples=400)
def test_the_release_is_the_first_open_moment_by_the_plain_rule(phone, at):
    release = _hours(phone).release_at(at)
    assert release >= at
    assert _open_by_hand(phone, release)
    if release > at:
        # nothing earlier was open: the minute before, some zone was closed
        assert not _open_by_hand(phone, release - timedelta(minutes=1))
        assert not _open_by_hand(phone, at)


@given(phone=st.sampled_from(PHONES), at=st.one_of(instants, dst_instants))
@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_no_message_is_handed_over_outside_its_recipients_window(
    phone, at, campaign, settings
):
    # given a queued message to the number, claimed at that moment
    settings.PORTAL_QUIET_HOURS = True
    # (examples go back and forth in time: no slot reserved by an earlier one)
    Sender.objects.filter(pk=campaign.sender_id).update(next_send_at=None)
    with time_machine.travel(at, tick=False):
        message = MessageFactory(
            campaign=campaign,
            lead=None,
            phone=phone,
            expires_at=at + timedelta(hours=16),
        )
        # when a worker claims it
        sent = messages_send(message_ids=[message.pk])
    message.refresh_from_db()
    # then it went only if the window was open; else it waits for the window
    if sent:
        assert _open_by_hand(phone, at) and message.status != "queued"
    else:
        assert (message.status, message.hold) == ("queued", "quiet_hours")
        assert _open_by_hand(phone, message.next_attempt_at)
        assert not _open_by_hand(phone, at)


def test_a_message_queued_at_2059_and_claimed_at_2101_is_held_until_8(
    campaign, settings
):
    # given a message queued just before 21:00 in New York
    settings.PORTAL_QUIET_HOURS = True
    # (years ahead: PostgreSQL's updated_at trigger reads the real clock)
    queued_at = datetime(2031, 6, 10, 20, 59, tzinfo=NEW_YORK)
    lead = LeadFactory(account=campaign.account, phone=DC)
    with time_machine.travel(queued_at, tick=False):
        message = MessageFactory(
            campaign=campaign, lead=lead, expires_at=queued_at + timedelta(hours=16)
        )
    # when a worker claims it two minutes later
    with time_machine.travel(queued_at + timedelta(minutes=2), tick=False):
        assert messages_send(message_ids=[message.pk]) == 0
    # then it is held, not failed: queued, until 8:00, its validity counted from then
    message.refresh_from_db()
    release = datetime(2031, 6, 11, 8, 0, tzinfo=NEW_YORK)
    assert (message.status, message.hold, message.next_attempt_at) == (
        "queued",
        "quiet_hours",
        release,
    )
    assert message.expires_at == queued_at + timedelta(hours=16) + (
        release - queued_at - timedelta(minutes=2)
    )
    event = MessageEvent.objects.get(message=message, kind="portal")
    assert event.payload == {
        "hold": "quiet_hours",
        "release_at": release.astimezone(UTC).isoformat(),
    }
    # and the requeue sweep hands it over once the window opens
    with time_machine.travel(release + timedelta(minutes=1), tick=False):
        assert messages_requeue_due() == 1
        assert messages_send(message_ids=[message.pk]) == 1
    message.refresh_from_db()
    assert message.status != "queued" and message.hold == ""


def test_the_answer_to_stop_or_help_goes_at_any_hour(campaign, settings):
    settings.PORTAL_QUIET_HOURS = True
    night = datetime(2026, 6, 10, 23, 30, tzinfo=NEW_YORK)
    with time_machine.travel(night, tick=False):
        reply = MessageFactory(
            campaign=None,
            account=campaign.account,
            sender=campaign.sender,
            phone=DC,
            lead=None,
            quiet_hours=False,
            expires_at=night + timedelta(hours=16),
        )
        assert messages_send(message_ids=[reply.pk]) == 1
    assert Message.objects.get(pk=reply.pk).hold == ""
