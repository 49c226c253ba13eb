"""The delivery monitor's alerts, pause and resume, and the outcome chart's bins."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django.contrib.admin.models import LogEntry
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns.alerts import MONITOR_USERNAME, alerts_sweep, rule_fires, rule_verdict
from campaigns.models import Alert, AlertRule, Campaign
from campaigns.monitor_views import bin_label
from campaigns.pausing import campaign_pause, campaign_resume
from messaging.catalog import error_get
from messaging.dispatch import messages_send
from messaging.models import Message
from messaging.monitor import Figures, outcome_bins
from messaging.pauses import HELD_UNTIL
from messaging.statuses import Bucket, Status
from portal.models import Membership
from tests import factories
from tests.factories import outcome_messages

pytestmark = pytest.mark.django_db


@pytest.fixture
def running(account, sender):
    owner = factories.UserFactory(email="owner@example.com")
    Membership.objects.create(user=owner, account=account, role="owner")
    staff = factories.UserFactory(email="staff@example.com")
    Membership.objects.create(user=staff, account=account)
    now = timezone.now()
    return factories.CampaignFactory(
        account=account,
        sender=sender,
        state="in_progress",
        launched_at=now,
        first_sent_at=now,
    )


@pytest.fixture
def sweep(django_capture_on_commit_callbacks):
    """The beat's sweep, with what it leaves for the commit (the emails) run."""

    def run() -> dict[str, int]:
        with django_capture_on_commit_callbacks(execute=True):
            return alerts_sweep()

    return run


@given(
    delivered=st.integers(0, 400),
    errors=st.integers(0, 40),
    unknown=st.integers(0, 40),
)
def test_error_rate_rule_is_over_3_percent_of_at_least_200(delivered, errors, unknown):
    rule = AlertRule(kind="error_rate", min_messages=200, threshold_percent=3.0)
    figures = Figures()
    figures.add(Status.DELIVERED, None, 10, delivered)
    figures.add(Status.UNDELIVERED, 1, 10, errors)
    figures.add(Status.UNKNOWN, None, None, unknown)
    answered = delivered + errors + unknown
    expected = answered >= 200 and errors > 0 and errors * 100 > 3 * answered
    assert rule_fires(rule, rule_verdict(rule, figures, {})) == expected


@given(fast=st.integers(0, 400), slow=st.integers(0, 100))
def test_slow_receipts_rule_is_15_percent_later_than_5_minutes(fast, slow):
    rule = AlertRule(
        kind="slow_receipts",
        min_messages=200,
        threshold_percent=15.0,
        slow_after_seconds=300,
    )
    figures = Figures()
    figures.add(Status.DELIVERED, None, 300, fast)  # within 5 minutes exactly
    figures.add(Status.DELIVERED, None, 600, slow)
    total = fast + slow
    expected = total >= 200 and slow > 0 and slow * 100 > 15 * total
    assert rule_fires(rule, rule_verdict(rule, figures, {})) == expected


def test_an_alert_is_emailed_once_per_episode_and_cleared_when_it_ends(running, sweep):
    outcome_messages(running, Status.DELIVERED, 193)
    outcome_messages(
        running, Status.UNDELIVERED, 7, error=error_get(provider="twilio", code="30003")
    )

    assert sweep() == {"raised": 1, "cleared": 0}
    assert sweep() == {
        "raised": 0,
        "cleared": 0,
    }  # the next minute: same episode

    alert = Alert.objects.get()
    assert alert.kind == "error_rate" and alert.cleared_at is None
    assert "Error rate 3.5% (7 of 200 messages)" in alert.summary
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["owner@example.com"]  # owners only
    assert running.name in mail.outbox[0].subject
    assert f"/campaigns/campaign/{running.pk}/" in mail.outbox[0].body
    # not paused: the account did not ask for it
    running.refresh_from_db()
    assert running.state == "in_progress"

    # an hour later the errors are out of the window: the episode ends
    Message.objects.update(final_at=timezone.now() - timedelta(hours=2))
    assert sweep() == {"raised": 0, "cleared": 1}
    # a new spike is a new episode, with its own email
    outcome_messages(running, Status.DELIVERED, 190)
    outcome_messages(
        running, Status.FAILED, 10, error=error_get(provider="twilio", code="30003")
    )
    assert sweep()["raised"] == 1
    assert Alert.objects.count() == 2 and len(mail.outbox) == 2


def test_spam_filtering_and_unregistered_sender_errors_alert_at_five(running, sweep):
    outcome_messages(running, Status.DELIVERED, 1000)
    outcome_messages(
        running, Status.UNDELIVERED, 2, error=error_get(provider="twilio", code="30007")
    )
    outcome_messages(
        running, Status.FAILED, 2, error=error_get(provider="twilio", code="30034")
    )
    assert sweep()["raised"] == 0
    outcome_messages(
        running, Status.UNDELIVERED, 1, error=error_get(provider="telnyx", code="40010")
    )
    sweep()
    assert Alert.objects.get().kind == "carrier_filtering"


def test_slow_receipts_alert(running, sweep):
    outcome_messages(running, Status.DELIVERED, 160)
    outcome_messages(running, Status.DELIVERED, 40, took=timedelta(minutes=8))
    sweep()
    alert = Alert.objects.get()
    assert alert.kind == "slow_receipts"
    assert "20.0% of receipts (40 of 200)" in alert.summary


def test_an_account_rule_replaces_the_default(running, sweep):
    AlertRule.objects.create(
        account=running.account,
        kind="error_rate",
        min_messages=10,
        threshold_percent=50,
    )
    outcome_messages(running, Status.DELIVERED, 150)
    outcome_messages(
        running,
        Status.UNDELIVERED,
        50,
        error=error_get(provider="twilio", code="30003"),
    )
    assert sweep()["raised"] == 0  # 25% is under this account's 50%


def test_the_monitor_pauses_when_the_account_asks_and_staff_resume(
    running, sweep, member
):
    running.account.pause_on_alert = True
    running.account.save()
    waiting = factories.MessageFactory.create_batch(3, campaign=running)
    outcome_messages(running, Status.DELIVERED, 180)
    outcome_messages(
        running,
        Status.UNDELIVERED,
        20,
        error=error_get(provider="twilio", code="30003"),
    )

    sweep()

    running.refresh_from_db()
    assert running.state == "paused" and running.paused_at
    assert Alert.objects.get().paused_campaign
    assert "paused automatically" in mail.outbox[0].body
    held = Message.objects.filter(pk__in=[m.pk for m in waiting])
    assert {m.next_attempt_at for m in held} == {HELD_UNTIL}
    paused = LogEntry.objects.get(object_id=str(running.pk))
    assert paused.user.username == MONITOR_USERNAME
    assert "Paused: 3 queued messages held (delivery monitor: high error rate)" in (
        paused.change_message
    )

    assert campaign_resume(campaign_id=running.pk, actor=member) == 3
    running.refresh_from_db()
    assert running.state == "in_progress"
    assert set(held.values_list("next_attempt_at", flat=True)) == {None}
    resumed = LogEntry.objects.filter(user=member).get()
    assert resumed.change_message == "Resumed: 3 held messages released."


def test_paused_messages_are_not_handed_to_the_provider(running, member):
    queued = factories.MessageFactory.create_batch(
        2, campaign=running, expires_at=timezone.now() + timedelta(hours=1)
    )
    ids = [m.pk for m in queued]
    assert campaign_pause(campaign_id=running.pk, actor=member) == 2

    assert messages_send(message_ids=ids) == 0  # the real claim and send path
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        Status.QUEUED
    }
    campaign_resume(campaign_id=running.pk, actor=member)
    assert messages_send(message_ids=ids) == 2
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) <= {
        Status.SENT,
        Status.DELIVERED,
        Status.UNDELIVERED,
    }


def test_pause_and_resume_refuse_the_wrong_state(running, member):
    draft = factories.CampaignFactory(account=running.account)
    with pytest.raises(Exception, match="only a campaign being processed"):
        campaign_pause(campaign_id=draft.pk, actor=member)
    with pytest.raises(Exception, match="only a paused campaign"):
        campaign_resume(campaign_id=running.pk, actor=member)


def test_api_pauses_and_resumes(running, member):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(member)
    url = reverse("api:campaign-pause", args=[running.pk])
    assert client.post(url).json() == {"count": 0}
    assert client.post(url).status_code == 409
    response = client.post(reverse("api:campaign-resume", args=[running.pk]))
    assert response.json() == {"count": 0}
    assert Campaign.objects.get(pk=running.pk).state == "in_progress"


def test_campaign_page_pauses_and_says_validity_keeps_running(client, running, member):
    client.force_login(member)
    page = reverse("portal:campaigns_campaign_change", args=[running.pk])
    assert "Pause sending" in client.get(page).content.decode()
    client.post(reverse("portal:campaigns_campaign_action", args=[running.pk, "pause"]))
    html = client.get(page).content.decode()
    assert "Resume sending" in html and "‖ Paused" in html
    assert "Validity keeps running while paused" in html


def rows_at(start: datetime, minutes: list[int]) -> list:
    return [(start + timedelta(minutes=m), Bucket.SENT, 1) for m in minutes]


def test_chart_bins_are_minutes_for_a_short_campaign_and_hours_for_a_long_one():
    start = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    width, bins = outcome_bins(rows_at(start, [0, 3, 20]))
    assert width == 1 and len(bins) == 21  # empty minutes kept: time runs evenly
    assert sum(b["counts"][Bucket.SENT] for b in bins) == 3
    width, bins = outcome_bins(rows_at(start, [0, 600]))
    assert width == 15
    width, bins = outcome_bins(rows_at(start, [0, 60 * 40]))
    assert width == 60 and bins[0]["end"] - bins[0]["start"] == timedelta(hours=1)
    assert outcome_bins([]) == (0, [])


def test_a_bin_label_names_its_start_and_end():
    start = datetime(2026, 3, 3, 13, 0, tzinfo=UTC)
    with timezone.override("UTC"):
        # one hourly bar once read "13:00 - 13:00"
        assert bin_label(start, start + timedelta(hours=1), width=60, dated=False) == (
            "13:00–14:00"
        )
        assert bin_label(start, start + timedelta(minutes=5), width=5, dated=True) == (
            "Mar 3 13:00–13:05"
        )
        assert bin_label(start, start + timedelta(days=1), width=1440, dated=True) == (
            "Mar 3"
        )


def test_a_raised_alert_and_the_pause_tell_the_accounts_webhooks_once(running, sweep):
    from messaging.hooks.models import HookEvent
    from messaging.hooks.services import hook_endpoint_create

    hook_endpoint_create(
        account_id=running.account_id,
        url="https://example.com/hook",
        event_types=[HookEvent.Type.ALERT, HookEvent.Type.CAMPAIGN_STATE],
    )
    running.account.pause_on_alert = True
    running.account.save()
    outcome_messages(running, Status.DELIVERED, 180)
    outcome_messages(
        running,
        Status.UNDELIVERED,
        20,
        error=error_get(provider="twilio", code="30003"),
    )
    sweep()
    sweep()
    [alert] = HookEvent.objects.filter(type=HookEvent.Type.ALERT).values_list(
        "data", flat=True
    )
    assert alert["kind"] == "error_rate" and alert["paused_campaign"]
    assert alert["campaign"] == {"id": running.pk, "name": running.name}
    states = HookEvent.objects.filter(type=HookEvent.Type.CAMPAIGN_STATE)
    assert [e.data["state"] for e in states] == ["paused"]
