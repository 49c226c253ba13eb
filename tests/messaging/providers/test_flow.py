"""A campaign's message through each provider's fake API, then its webhooks."""

from datetime import timedelta

import pytest

from django.utils import timezone

from messaging.dispatch import messages_send
from messaging.models import OptOut
from messaging.statuses import Status
from tests import factories
from tests.messaging.providers import payloads
from tests.messaging.providers.apis import ACCEPTED, PATHS, REFUSED, SETTING
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
        receipt = payloads.TELNYX_FINALIZED_FAILED["data"] | {}
        receipt["payload"] = receipt["payload"] | {
            "id": provider_message_id,
            "to": [{"phone_number": "+13125550100", "status": "delivered"}],
            "errors": [],
        }
        return {"data": receipt}
    return [
        payloads.BANDWIDTH_DELIVERED[0]
        | {"message": {"id": provider_message_id, "tag": ""}}
    ]


@pytest.mark.parametrize("provider", ["twilio", "telnyx", "bandwidth"])
def test_message_sent_delivered_and_answered_stop(
    client, gateway_sender, httpserver, settings, monkeypatch, provider
):
    # given: a queued campaign message at the provider, its API faked locally
    setattr(settings, SETTING[provider], httpserver.url_for("").rstrip("/"))
    code, body, provider_id, _ = ACCEPTED[provider]
    httpserver.expect_request(PATHS[provider]).respond_with_json(body, status=code)
    monkeypatch.setattr("messaging.inbound.messages_enqueue", lambda **kwargs: None)
    sender = gateway_sender(provider, throughput_per_second=100)
    lead = factories.LeadFactory(account=sender.account, phone="+13125550100")
    message = factories.MessageFactory(
        campaign__account=sender.account,
        lead=lead,
        sender=sender,
        expires_at=timezone.now() + timedelta(hours=1),
    )
    # when: it is sent, its receipt arrives, and the person texts STOP
    assert messages_send(message_ids=[message.pk]) == 1
    receipt = delivered_receipt(provider, provider_id)
    assert signed_post(client, sender, receipt).status_code == 200
    stop = payloads.INBOUND[provider]("STOP", sender_number=sender.phone_number)
    assert signed_post(client, sender, stop).status_code == 200
    # then
    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == (
        Status.DELIVERED,
        provider_id,
    )
    assert OptOut.objects.filter(account=sender.account, phone=lead.phone).exists()


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
