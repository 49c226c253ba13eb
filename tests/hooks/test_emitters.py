"""Every change an endpoint can pick writes its event in the same transaction."""

import pytest

from django.db import transaction
from django.utils import timezone

from campaigns.services import (
    campaign_cancel,
    campaigns_close,
    campaigns_mark_in_progress,
)
from messaging.hooks.models import HookEvent
from messaging.hooks.outbox import hook_event_emit
from messaging.inbound import inbound_receive
from messaging.optouts import opt_in_record, opt_outs_import
from messaging.providers.base import Inbound
from messaging.services import StatusUpdate, messages_apply_statuses
from messaging.statuses import Status
from tests import factories

pytestmark = pytest.mark.django_db


def _events(type_):
    return list(
        HookEvent.objects.filter(type=type_)
        .order_by("id")
        .values_list("data", flat=True)
    )


def test_hook_inbound_stop_emits_the_text_and_the_opt_out(hook, sender):
    inbound_receive(
        sender=sender,
        messages=[
            Inbound(
                provider_message_id="in-1",
                from_number="+12025550100",
                to_number=sender.phone_number,
                body="STOP",
            )
        ],
    )
    [text] = _events(HookEvent.Type.MESSAGE_RECEIVED)
    assert (text["phone"], text["body"]) == ("+12025550100", "STOP")
    [opt_out] = _events(HookEvent.Type.OPT_OUT)
    assert (opt_out["phone"], opt_out["opted_out"], opt_out["source"]) == (
        "+12025550100",
        True,
        "keyword",
    )


def test_hook_opt_in_and_a_file_of_opt_outs_emit_one_event_per_number(
    hook, account, member
):
    opt_outs_import(
        account_id=account.pk,
        region="US",
        lines=["+12025550101", "+12025550102"],
        actor=member,
    )
    opt_in_record(account_id=account.pk, phone="+12025550101", source="staff")
    assert [(e["phone"], e["opted_out"]) for e in _events(HookEvent.Type.OPT_OUT)] == [
        ("+12025550101", True),
        ("+12025550102", True),
        ("+12025550101", False),
    ]


def test_hook_campaign_states_from_start_to_done(hook, campaign, member):
    campaign.state = "processing"
    campaign.fanned_out_at = campaign.launched_at = timezone.now()
    campaign.save()
    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    campaigns_mark_in_progress()
    messages_apply_statuses(
        updates=[(message.pk, StatusUpdate(status=Status.DELIVERED))]
    )
    campaigns_close()
    states = [
        (e["campaign"]["id"], e["state"], e["result"])
        for e in _events(HookEvent.Type.CAMPAIGN_STATE)
    ]
    assert states == [
        (campaign.pk, "in_progress", ""),
        (campaign.pk, "done", "delivered"),
    ]


def test_hook_cancel_emits_the_campaign_and_each_canceled_message(
    hook, campaign, member
):
    factories.MessageFactory.create_batch(3, campaign=campaign)
    campaign_cancel(campaign_id=campaign.pk, actor=member)
    assert [e["state"] for e in _events(HookEvent.Type.CAMPAIGN_STATE)] == ["canceled"]
    assert (
        HookEvent.objects.filter(
            type=HookEvent.Type.MESSAGE_STATUS, status="canceled"
        ).count()
        == 3
    )


def test_hook_event_rolls_back_with_its_change(hook, account):
    with pytest.raises(RuntimeError), transaction.atomic():
        hook_event_emit(
            account_id=account.pk, event="alert.raised", data={"title": "Error rate 5%"}
        )
        raise RuntimeError("the change failed")
    assert not HookEvent.objects.exists()
    hook_event_emit(
        account_id=account.pk, event="alert.raised", data={"title": "Error rate 5%"}
    )
    assert _events(HookEvent.Type.ALERT) == [{"title": "Error rate 5%"}]
