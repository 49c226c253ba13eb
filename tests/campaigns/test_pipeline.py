"""Launch to last receipt, in eager mode with the simulated provider."""

from datetime import timedelta

import pytest

from django.utils import timezone

from campaigns.fan_out import campaign_fan_out
from campaigns.launch import LaunchRefused, campaign_launch, campaign_preview
from campaigns.models import Campaign
from campaigns.selectors import campaign_bucket_counts
from campaigns.services import (
    CampaignNotCancelable,
    campaign_cancel,
    campaign_resend_failed,
    campaigns_close,
    campaigns_mark_in_progress,
)
from messaging.dispatch import messages_release_stuck
from messaging.models import Message, OptOut, Sender
from portal.models import Account
from tests.factories import (
    CampaignFactory,
    LeadFactory,
    LeadListFactory,
    MessageFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(account, sender):
    """A draft campaign to a list of leads, one per forced simulator outcome."""
    leads = LeadListFactory(account=account)
    campaign = CampaignFactory(
        account=account, sender=sender, body="Hi {first_name}! Reply STOP to opt out."
    )
    campaign.lists.add(leads)
    return campaign, leads


def _add(lead_list, phone, **fields):
    lead = LeadFactory(account=lead_list.account, phone=phone, **fields)
    lead.lists.add(lead_list)
    return lead


def _outcomes(campaign):
    return {
        m.phone: (m.status, m.error.code if m.error else None)
        for m in Message.objects.filter(
            campaign=campaign, superseded=False
        ).select_related("error")
    }


def test_launch_sends_every_lead_once_and_explains_every_failure(
    ready, django_capture_on_commit_callbacks
):
    # given one lead per outcome, plus leads the portal must refuse
    campaign, leads = ready
    for phone in (
        "+15005550000",
        "+15005550001",
        "+15005550003",
        "+15005550005",
        "+15005550006",
        "+15005550007",
    ):
        _add(leads, phone)
    _add(leads, "+12025550100")  # opted out below
    _add(leads, "+12025550101", suppressed_at=timezone.now())
    _add(leads, "+12025550102", deleted_at=timezone.now())
    _add(leads, "+1555")  # not a number
    OptOut.objects.create(
        account=campaign.account, phone="+12025550100", source="keyword"
    )
    balance = campaign.account.credit_balance

    # when it is launched and the tasks run
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    campaigns_mark_in_progress()

    # then every lead but the deleted one has a message with a plain outcome
    assert _outcomes(campaign) == {
        "+15005550000": ("delivered", None),
        "+15005550001": ("failed", "21211"),
        "+15005550003": ("undelivered", "30007"),
        "+15005550005": ("sent", None),
        "+15005550006": ("failed", "21610"),
        "+15005550007": ("queued", None),  # waiting for its retry
        "+12025550100": ("rejected", "opted_out"),
        "+12025550101": ("rejected", "suppressed"),
        "+1555": ("rejected", "invalid_number"),
    }
    assert Message.objects.get(phone="+15005550000").body.startswith("Hi ")
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk])[campaign.pk]
    assert counts["deleted_leads"] == 0  # deleted before the launch: not counted
    assert sum(v for k, v in counts.items() if k != "deleted_leads") == 9
    # charged only for what the carriers took: 21211 and 21610 are refunded
    campaign.account.refresh_from_db()
    assert balance - campaign.account.credit_balance == 3
    # the carrier's opt-out is now on record
    assert OptOut.objects.filter(phone="+15005550006", source="carrier").exists()
    assert Campaign.objects.get(pk=campaign.pk).state == "in_progress"


def test_fan_out_twice_creates_nothing_new(ready):
    campaign, leads = ready
    for n in range(5):
        _add(leads, f"+1202555{n:04d}")
    Campaign.objects.filter(pk=campaign.pk).update(state="processing")
    campaign_fan_out(campaign_id=campaign.pk)
    campaign_fan_out(campaign_id=campaign.pk)
    assert Message.objects.filter(campaign=campaign).count() == 5


def test_a_lead_in_two_lists_gets_one_message(
    ready, django_capture_on_commit_callbacks
):
    campaign, leads = ready
    other = LeadListFactory(account=campaign.account)
    campaign.lists.add(other)
    lead = _add(leads, "+15005550000")
    lead.lists.add(other)
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    assert Message.objects.filter(campaign=campaign).count() == 1


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"sender": None}, "Choose a sender"),
        ({"body": "  "}, "body is empty"),
        ({"body": "x" * 1601}, "at most 1600"),
        ({"body": "Hi {nickname}"}, "Unknown fields in the message: {nickname}"),
    ],
)
def test_launch_says_what_is_wrong(ready, change, problem):
    campaign, leads = ready
    _add(leads, "+15005550000")
    Campaign.objects.filter(pk=campaign.pk).update(**change)
    with pytest.raises(LaunchRefused) as refused:
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    assert any(problem in text for text in refused.value.problems), (
        refused.value.problems
    )
    assert Campaign.objects.get(pk=campaign.pk).state == "draft"


def test_a_lead_missing_a_field_is_named_unless_there_is_a_default(ready):
    campaign, leads = ready
    _add(leads, "+15005550000", first_name="")
    problems = campaign_preview(campaign_id=campaign.pk).problems
    assert any("lack a field" in text for text in problems)
    campaign.field_defaults = {"first_name": "friend"}
    campaign.save()
    assert campaign_preview(campaign_id=campaign.pk).problems == []


def test_insufficient_credit_for_the_estimate_is_refused(ready):
    campaign, leads = ready
    _add(leads, "+15005550000")
    campaign.account.credit_balance = 0
    campaign.account.save()
    assert any(
        "Not enough credit" in p
        for p in campaign_preview(campaign_id=campaign.pk).problems
    )


def test_links_and_prohibited_content_warn_until_confirmed(
    ready, django_capture_on_commit_callbacks
):
    campaign, leads = ready
    _add(leads, "+15005550000")
    campaign.body = "Casino night! https://example.org Reply STOP to opt out."
    campaign.save()
    with pytest.raises(LaunchRefused) as refused:
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    assert len(refused.value.warnings) == 2 and not refused.value.problems
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(
            campaign_id=campaign.pk, launched_by=None, confirm_warnings=True
        )
    assert Campaign.objects.get(pk=campaign.pk).state != "draft"


def test_cancel_keeps_what_was_sent(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(state="in_progress")
    queued = MessageFactory(campaign=campaign)
    sent = MessageFactory(campaign=campaign, status="sent")
    assert campaign_cancel(campaign_id=campaign.pk, actor=None) == 1
    assert Message.objects.get(pk=queued.pk).status == "canceled"
    assert Message.objects.get(pk=sent.pk).status == "sent"
    assert Campaign.objects.get(pk=campaign.pk).state == "canceled"


def test_a_done_campaign_is_not_cancelable(campaign):
    Campaign.objects.filter(pk=campaign.pk).update(state="done", done_at=timezone.now())
    with pytest.raises(CampaignNotCancelable, match="is done: it can no longer"):
        campaign_cancel(campaign_id=campaign.pk, actor=None)
    assert Campaign.objects.get(pk=campaign.pk).state == "done"


def test_resend_failed_queues_a_new_attempt_for_temporary_errors_only(
    campaign, django_capture_on_commit_callbacks
):
    from messaging.catalog import error_get

    # a number the simulator always delivers to: the new attempt's fate is known
    temporary = MessageFactory(
        campaign=campaign,
        status="undelivered",
        error=error_get(provider="twilio", code="30003"),
        lead__phone="+15005550000",
    )
    MessageFactory(
        campaign=campaign,
        status="undelivered",
        error=error_get(provider="twilio", code="30007"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert campaign_resend_failed(campaign_id=campaign.pk, actor=None) == 1
    retry = Message.objects.get(retry_of=temporary)
    assert (retry.attempt, retry.status) == (2, "delivered")
    assert Message.objects.get(pk=temporary.pk).superseded


def test_a_worker_killed_mid_send_never_causes_a_second_send(sender):
    # given a provider that cannot say what it got (the simulator without its log)
    unsure = _left_sending(sender, "+15005550000")
    reached = _left_sending(sender, "+12025550151")
    Message.objects.filter(pk=reached.pk).update(provider_message_id="SMx")
    # when the sweep runs, then the one the provider may have got is never resent
    assert messages_release_stuck() == 2
    unsure.refresh_from_db()
    assert (unsure.status, unsure.error.code) == ("unknown", "send_interrupted")
    assert Message.objects.get(pk=reached.pk).status == "sent"


def _left_sending(sender: Sender, phone: str) -> Message:
    """A message a worker claimed an hour ago and died with, its send unrecorded."""
    now = timezone.now()
    return MessageFactory(
        campaign__account=sender.account,
        campaign__sender=sender,
        status="sending",
        claimed_at=now - timedelta(hours=1),
        send_tries=1,
        billed=True,
        expires_at=now + timedelta(hours=1),
        lead__phone=phone,
    )


def test_the_stuck_sweep_settles_what_the_simulator_got_and_resends_only_the_rest(
    sender, settings, tmp_path, django_capture_on_commit_callbacks
):
    from messaging.providers.simulator import send_record, sends_recorded

    # given three messages a dead worker left in sending: the simulator had
    # accepted one and refused one, and never got the third
    settings.SIMULATOR_SEND_LOG = str(tmp_path / "sends.log")
    accepted = _left_sending(sender, "+15005550000")
    refused = _left_sending(sender, "+15005550001")
    missed = _left_sending(sender, "+15005550005")  # sent, no receipt ever
    send_record(str(accepted.uuid), "SMaccepted")
    send_record(str(refused.uuid), "21211")
    balance = Account.objects.get(pk=missed.account_id).credit_balance

    # when the sweep runs (and the tasks and receipts it starts run too)
    with django_capture_on_commit_callbacks(execute=True):
        assert messages_release_stuck() == 3

    # then the accepted one keeps the simulator's id and its receipts settle it
    accepted.refresh_from_db()
    assert (accepted.status, accepted.provider_message_id) == (
        "delivered",
        "SMaccepted",
    )
    # and the refused one carries the simulator's refusal, as if the worker had lived
    refused.refresh_from_db()
    assert (refused.status, refused.error.code) == ("failed", "21211")
    # and the one it never got is sent again, at once, and only once
    missed.refresh_from_db()
    assert (missed.status, missed.attempt) == ("sent", 1)
    assert missed.provider_message_id.startswith("SM")
    sends = sends_recorded(settings.SIMULATOR_SEND_LOG)
    assert [sends[str(m.uuid)] for m in (accepted, refused, missed)] == [1, 1, 1]
    # and the account pays for the two that went out, not for the refused one
    credit = Account.objects.get(pk=missed.account_id).credit_balance
    assert credit == balance + refused.segments


def test_a_campaign_closes_once_its_receipts_are_in(
    ready, django_capture_on_commit_callbacks
):
    campaign, leads = ready
    _add(leads, "+15005550000")
    _add(leads, "+15005550003")
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    campaigns_mark_in_progress()
    campaigns_close()
    campaign.refresh_from_db()
    assert (campaign.state, campaign.result) == ("done", "partial")


def test_credit_running_out_mid_batch_sends_what_it_covers_and_rejects_the_rest(
    campaign,
):
    from messaging.dispatch import messages_send

    # given three one-segment messages and credit for two
    expires_at = timezone.now() + timedelta(hours=1)
    ids = [
        m.pk
        for m in MessageFactory.create_batch(
            3, campaign=campaign, segments=1, expires_at=expires_at
        )
    ]
    Message.objects.filter(pk__in=ids).update(phone="+15005550000")
    campaign.account.credit_balance = 2
    campaign.account.save()
    # when the batch is sent
    messages_send(message_ids=ids)
    # then the first two went out, the last is rejected for credit, nothing overdrawn
    outcomes = [
        (m.status, m.error.code if m.error else None, m.billed)
        for m in Message.objects.filter(pk__in=ids)
        .order_by("pk")
        .select_related("error")
    ]
    assert outcomes[:2] == [("sent", None, True), ("sent", None, True)]
    assert outcomes[2] == ("rejected", "insufficient_credit", False)
    campaign.account.refresh_from_db()
    assert campaign.account.credit_balance == 0


def test_a_lead_who_texts_stop_before_the_send_is_not_texted(
    ready, django_capture_on_commit_callbacks, settings, tmp_path
):
    from messaging.inbound import inbound_receive
    from messaging.providers.base import Inbound
    from messaging.providers.simulator import sends_recorded

    # given a fanned-out campaign whose messages wait in the queue
    settings.SIMULATOR_SEND_LOG = str(tmp_path / "sends.log")
    campaign, leads = ready
    stays = _add(leads, "+15005550000")
    leaves = _add(leads, "+12025550123")
    Campaign.objects.filter(pk=campaign.pk).update(state="processing")
    with django_capture_on_commit_callbacks() as enqueued:
        campaign_fan_out(campaign_id=campaign.pk)
    # when one of the leads texts STOP before the dispatcher gets to it
    inbound_receive(
        sender=campaign.sender,
        messages=[Inbound("SMin1", leaves.phone, campaign.sender.phone_number, "STOP")],
    )
    balance = Account.objects.get(pk=campaign.account_id).credit_balance
    with django_capture_on_commit_callbacks(execute=True):
        for send_task in enqueued:
            send_task()
    # then that lead's message is refused with the opt-out error, never handed over
    mine = Message.objects.select_related("error").get(campaign=campaign, lead=leaves)
    assert (mine.status, mine.error.code, mine.billed) == (
        "rejected",
        "opted_out",
        False,
    )
    assert str(mine.uuid) not in sends_recorded(settings.SIMULATOR_SEND_LOG)
    other = Message.objects.get(campaign=campaign, lead=stays)
    assert other.status == "delivered"
    # and only the message sent was paid for
    assert balance - Account.objects.get(pk=campaign.account_id).credit_balance == 1


def test_after_a_stop_only_the_reply_to_it_goes_to_that_number(
    sender, django_capture_on_commit_callbacks
):
    from messaging.dispatch import messages_send
    from messaging.inbound import inbound_receive
    from messaging.providers.base import Inbound

    # given a one-off message queued to a number, not yet sent
    one_off = MessageFactory(
        campaign=None,
        account=sender.account,
        sender=sender,
        lead__phone="+15005550000",
        expires_at=timezone.now() + timedelta(hours=1),
    )
    # when the person texts STOP: the confirmation is queued to them
    with django_capture_on_commit_callbacks(execute=True):
        inbound_receive(
            sender=sender,
            messages=[Inbound("SMin2", one_off.phone, sender.phone_number, "STOP")],
        )
        messages_send(message_ids=[one_off.pk])
    # then the reply, written after the opt-out it confirms, goes out
    reply = Message.objects.exclude(pk=one_off.pk).get(direction="outbound")
    assert reply.status == "delivered"
    # and the message queued before the STOP does not
    one_off.refresh_from_db()
    assert (one_off.status, one_off.error.code) == ("rejected", "opted_out")


def test_a_slow_sender_sends_what_fits_its_window_and_requeues_the_rest(
    campaign, monkeypatch, django_capture_on_commit_callbacks
):
    from messaging.dispatch import messages_send

    # given five messages through a sender allowed two in one task's window
    monkeypatch.setattr("messaging.dispatch.SEND_WINDOW_SECONDS", 0.5)
    Sender.objects.filter(pk=campaign.sender_id).update(throughput_per_second=4)
    expires_at = timezone.now() + timedelta(hours=1)
    ids = [
        m.pk
        for m in MessageFactory.create_batch(
            5, campaign=campaign, expires_at=expires_at
        )
    ]
    Message.objects.filter(pk__in=ids).update(phone="+15005550000")
    # when one batch runs
    with django_capture_on_commit_callbacks() as follow_ups:
        assert messages_send(message_ids=ids) == 2
    # then the first two went out and the rest wait for the task it queued
    statuses = list(
        Message.objects.filter(pk__in=ids)
        .order_by("pk")
        .values_list("status", flat=True)
    )
    assert statuses == ["sent", "sent", "queued", "queued", "queued"]
    with django_capture_on_commit_callbacks(execute=True):
        for follow_up in follow_ups:
            follow_up()
    assert set(Message.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "delivered"
    }


def test_a_send_result_after_the_stuck_sweep_still_keeps_the_provider_id():
    from messaging.services import StatusUpdate, messages_apply_statuses

    # given a message the sweep settled as unknown while its send was under way
    message = MessageFactory(status="unknown")
    late = StatusUpdate(status="sent", kind="send", provider_message_id="SMlate")
    # when the send's result is recorded at last
    assert messages_apply_statuses(updates=[(message.pk, late)]) == 0
    # then the status stays, and the id is kept for the receipts to find it by
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("unknown", "SMlate")
