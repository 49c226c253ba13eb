"""A campaign through each provider's fake API, then its signed webhooks."""

import copy
from datetime import timedelta

import pytest

from django.utils import timezone

from campaigns.launch import campaign_launch
from campaigns.models import Campaign
from campaigns.services import campaigns_close
from messaging.dispatch import messages_send
from messaging.models import Message, OptOut
from messaging.statuses import Status
from tests import factories
from tests.messaging.providers import payloads
from tests.messaging.providers.apis import (
    PATHS,
    REFUSED,
    SETTING,
    accept_each,
    provider_id,
)
from tests.messaging.providers.signing import signed_post

pytestmark = pytest.mark.django_db


def delivered_receipt(provider: str, provider_message_id: str):
    """The provider's delivery receipt for its message id."""
    if provider == "twilio":
        return payloads.TWILIO_UNDELIVERED | {
            "MessageSid": provider_message_id,
            "MessageStatus": "delivered",
            "SmsStatus": "delivered",
            "ErrorCode": "",
        }
    if provider == "telnyx":
        receipt = copy.deepcopy(payloads.TELNYX_FINALIZED_FAILED)
        receipt["data"]["payload"] |= {
            "id": provider_message_id,
            "to": [{"phone_number": "+13125550100", "status": "delivered"}],
            "errors": [],
        }
        return receipt
    return [
        payloads.BANDWIDTH_DELIVERED[0]
        | {"message": {"id": provider_message_id, "tag": ""}}
    ]


def failed_receipt(provider: str, provider_message_id: str):
    """The provider's documented failure example, about its message id."""
    if provider == "twilio":
        return payloads.TWILIO_UNDELIVERED | {"MessageSid": provider_message_id}
    if provider == "telnyx":
        receipt = copy.deepcopy(payloads.TELNYX_FINALIZED_FAILED)
        receipt["data"]["payload"]["id"] = provider_message_id
        return receipt
    event = copy.deepcopy(payloads.BANDWIDTH_FAILED[0])
    event["message"] |= {"id": provider_message_id, "tag": ""}
    return [event]


# What the failure example must end as: status, code, and the catalog's title.
FAILED_AS = {
    "twilio": (Status.UNDELIVERED, "30003"),
    "telnyx": (Status.UNDELIVERED, "40001"),
    "bandwidth": (Status.FAILED, "4432"),
}


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "bandwidth"])
def test_campaign_sent_through_provider_ends_in_receipts_and_stop(
    client,
    gateway_sender,
    httpserver,
    settings,
    django_capture_on_commit_callbacks,
    provider,
):
    # given a campaign to two leads from a sender at the provider, its API faked
    setattr(settings, SETTING[provider], httpserver.url_for("").rstrip("/"))
    httpserver.expect_request(PATHS[provider]).respond_with_handler(
        accept_each(provider)
    )
    sender = gateway_sender(provider, throughput_per_second=100)
    leads = factories.LeadListFactory(account=sender.account)
    stays, fails = (
        factories.LeadFactory(account=sender.account, phone=phone)
        for phone in ("+13125550100", "+13125550101")
    )
    stays.lists.add(leads)
    fails.lists.add(leads)
    campaign = factories.CampaignFactory(
        account=sender.account,
        sender=sender,
        body="Hi {first_name}! Reply STOP to opt out.",
    )
    campaign.lists.add(leads)
    # when it is launched and the pipeline sends it
    with django_capture_on_commit_callbacks(execute=True):
        campaign_launch(campaign_id=campaign.pk, launched_by=None)
    sent = {m.phone: m for m in Message.objects.filter(campaign=campaign)}
    assert {m.status for m in sent.values()} == {Status.SENT}
    assert len(httpserver.log) == 2
    # and the receipts and a STOP arrive through the signed webhook
    with django_capture_on_commit_callbacks(execute=True):
        for lead, receipt in ((stays, delivered_receipt), (fails, failed_receipt)):
            payload = receipt(provider, provider_id(provider, lead.phone))
            assert signed_post(client, sender, payload).status_code == 200
        stop = payloads.INBOUND[provider]("STOP", sender_number=sender.phone_number)
        assert signed_post(client, sender, stop).status_code == 200
    # then each message ends in its status, the failure explained by the catalog
    delivered = Message.objects.get(pk=sent[stays.phone].pk)
    assert (delivered.status, delivered.error) == (Status.DELIVERED, None)
    failed = Message.objects.select_related("error").get(pk=sent[fails.phone].pk)
    assert (failed.status, failed.error.code) == FAILED_AS[provider]
    assert failed.error.known and failed.error.title and failed.error.resolution
    # the lead who texted STOP is opted out and got the confirmation, sent
    assert OptOut.objects.filter(account=sender.account, phone=stays.phone).exists()
    reply = Message.objects.get(
        direction=Message.Direction.OUTBOUND, campaign=None, phone=stays.phone
    )
    assert (reply.body, reply.status) == (sender.account.opt_out_reply, Status.SENT)
    # and the campaign is done: some delivered, some not
    campaigns_close()
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert (campaign.state, campaign.result) == ("done", "partial")


@pytest.mark.parametrize("provider", ["twilio", "telnyx"])
def test_send_refused_for_stop_fails_and_opts_out(
    gateway_sender, httpserver, settings, provider
):
    setattr(settings, SETTING[provider], httpserver.url_for("").rstrip("/"))
    code, body, error_code = REFUSED[provider]
    httpserver.expect_request(PATHS[provider]).respond_with_json(body, status=code)
    sender = gateway_sender(provider, throughput_per_second=100)
    message = factories.MessageFactory(
        campaign__account=sender.account,
        sender=sender,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert messages_send(message_ids=[message.pk]) == 0
    message.refresh_from_db()
    assert (message.status, message.error.code) == (Status.FAILED, error_code)
    assert OptOut.objects.filter(account=sender.account, phone=message.phone).exists()
