"""Periodic sweeps: expire the stale queue, mark silent sends unknown, close campaigns."""

from datetime import timedelta

import pytest

from django.db import IntegrityError
from django.utils import timezone

from campaigns.models import Campaign
from campaigns.services import campaigns_close
from messaging.models import Message
from messaging.providers.base import StatusUpdate
from messaging.services import message_apply_status
from messaging.sweeps import messages_expire, messages_mark_unknown
from portal.models import CreditEntry
from portal.services import InsufficientCredit, credit_charge
from tests.factories import CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_expire_moves_only_queued_messages_past_their_validity():
    now = timezone.now()
    stale = MessageFactory(expires_at=now - timedelta(minutes=1))
    fresh = MessageFactory(expires_at=now + timedelta(hours=1))
    sent = MessageFactory(status="sent", expires_at=now - timedelta(minutes=1))

    assert messages_expire(now=now) == 1
    assert messages_expire(now=now) == 0  # idempotent

    stale.refresh_from_db()
    assert (stale.status, stale.error.code) == ("expired", "expired")
    assert stale.events.get().kind == "sweep"
    assert Message.objects.get(pk=fresh.pk).status == "queued"
    assert Message.objects.get(pk=sent.pk).status == "sent"


def test_silent_sends_become_unknown_and_a_late_receipt_still_settles_them():
    now = timezone.now()
    silent = MessageFactory(status="sent")
    Message.objects.filter(pk=silent.pk).update(sent_at=now - timedelta(hours=73))
    recent = MessageFactory(status="sent")

    assert messages_mark_unknown(now=now) == 1
    silent.refresh_from_db()
    assert (silent.status, silent.error.code) == ("unknown", "no_receipt")
    assert Message.objects.get(pk=recent.pk).status == "sent"

    assert message_apply_status(
        message_id=silent.pk, update=StatusUpdate(status="delivered")
    )
    silent.refresh_from_db()
    assert silent.status == "delivered" and silent.error is None


def test_account_receipt_wait_overrides_the_default():
    now = timezone.now()
    message = MessageFactory(status="sent", campaign__account__receipt_wait_hours=2)
    Message.objects.filter(pk=message.pk).update(sent_at=now - timedelta(hours=3))
    assert messages_mark_unknown(now=now) == 1


def test_close_marks_done_with_the_result_when_every_message_is_final():
    now = timezone.now()
    all_ok = CampaignFactory(state="in_progress", fanned_out_at=now)
    MessageFactory.create_batch(2, campaign=all_ok, status="delivered")
    mixed = CampaignFactory(state="in_progress", fanned_out_at=now)
    MessageFactory(campaign=mixed, status="delivered")
    MessageFactory(campaign=mixed, status="undelivered")
    failed = CampaignFactory(state="in_progress", fanned_out_at=now)
    MessageFactory(campaign=failed, status="rejected")
    running = CampaignFactory(state="in_progress", fanned_out_at=now)
    MessageFactory(campaign=running, status="sent")

    assert campaigns_close(now=now) == 3
    assert campaigns_close(now=now) == 0
    states = dict(Campaign.objects.values_list("pk", "result"))
    assert states[all_ok.pk] == "delivered"
    assert states[mixed.pk] == "partial"
    assert states[failed.pk] == "failed"
    assert Campaign.objects.get(pk=running.pk).state == "in_progress"


def test_close_window_ends_a_campaign_whose_carrier_never_answers():
    now = timezone.now()
    campaign = CampaignFactory(state="in_progress", fanned_out_at=now)
    message = MessageFactory(campaign=campaign, status="sent")
    Message.objects.filter(pk=message.pk).update(sent_at=now - timedelta(hours=49))
    assert campaigns_close(now=now) == 1
    assert Campaign.objects.get(pk=campaign.pk).state == "done"


def test_a_final_status_without_its_timestamp_is_refused_by_the_database():
    message = MessageFactory()
    with pytest.raises(IntegrityError):
        Message.objects.filter(pk=message.pk).update(status="delivered")


def test_one_current_message_per_lead_per_campaign():
    message = MessageFactory()
    with pytest.raises(IntegrityError):
        MessageFactory(campaign=message.campaign, lead=message.lead, attempt=2)


def test_credit_never_goes_negative(account):
    account.credit_balance = 5
    account.save()
    credit_charge(account_id=account.pk, segments=5)
    with pytest.raises(InsufficientCredit):
        credit_charge(account_id=account.pk, segments=1)
    account.refresh_from_db()
    assert account.credit_balance == 0
    assert CreditEntry.objects.filter(account=account).count() == 1


def test_a_non_billable_final_error_refunds_a_charged_message():
    from messaging.catalog import portal_error

    message = MessageFactory(status="sent", billed=True, segments=2)
    account = message.account
    before = account.credit_balance
    message_apply_status(
        message_id=message.pk,
        update=StatusUpdate(
            status="failed", error=portal_error("provider_unavailable")
        ),
    )
    account.refresh_from_db()
    message.refresh_from_db()
    assert account.credit_balance == before + 2
    assert message.billed is False


def test_an_opt_out_error_records_the_opt_out():
    from messaging.catalog import error_get
    from messaging.models import OptOut

    message = MessageFactory(status="sent")
    error = error_get(provider="twilio", code="21610")
    message_apply_status(
        message_id=message.pk, update=StatusUpdate(status="failed", error=error)
    )
    opt_out = OptOut.objects.get(account=message.account, phone=message.phone)
    assert opt_out.source == "carrier" and "21610" in opt_out.detail
