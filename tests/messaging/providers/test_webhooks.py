"""The webhook: every documented payload, signatures, parking, inbound keywords."""

import copy
import time
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from django.utils.datastructures import MultiValueDict

from messaging.ingest import webhook_ingest
from messaging.models import Message, MessageEvent, OptOut
from messaging.providers import provider_for
from messaging.providers.base import Inbound, Parsed
from messaging.services import messages_claim_parked_receipts
from messaging.statuses import Status
from tests import factories
from tests.messaging.providers import payloads
from tests.messaging.providers.signing import (
    OTHER_CREDENTIALS,
    signed_post,
    webhook_path,
)

pytestmark = pytest.mark.django_db
PROVIDERS = ["twilio", "telnyx", "bandwidth"]


def outbound(sender, provider_message_id: str, status: str = Status.SENT) -> Message:
    return factories.MessageFactory(
        campaign__account=sender.account,
        sender=sender,
        provider=sender.provider,
        provider_message_id=provider_message_id,
        status=status,
    )


def twilio_status(word: str, code: str | None = None) -> dict:
    fields = {"MessageStatus": word, "SmsStatus": word}
    fields |= {"ErrorCode": code} if code else {}
    return {
        k: v for k, v in payloads.TWILIO_UNDELIVERED.items() if k != "ErrorCode"
    } | fields


def telnyx_status(event: str, word: str, code: str | None = None) -> dict:
    payload = copy.deepcopy(payloads.TELNYX_FINALIZED_FAILED)
    payload["data"]["event_type"] = event
    payload["data"]["payload"]["to"][0]["status"] = word
    payload["data"]["payload"]["errors"] = [{"code": code}] if code else []
    return payload


def bandwidth_failed(code: int) -> list:
    return [payloads.BANDWIDTH_FAILED[0] | {"errorCode": code}]


STATUS_CASES = [
    *payloads.STATUS_EXAMPLES,
    ("twilio", twilio_status("delivered"), "SM1f0e...", "delivered", None),
    ("twilio", twilio_status("failed", "30036"), "SM1f0e...", "expired", "30036"),
    (
        "telnyx",
        telnyx_status("message.finalized", "delivered"),
        "40385f64-...",
        "delivered",
        None,
    ),
    (
        "telnyx",
        telnyx_status("message.finalized", "delivery_unconfirmed"),
        "40385f64-...",
        "unknown",
        None,
    ),
    (
        "telnyx",
        telnyx_status("message.finalized", "sending_failed", "40014"),
        "40385f64-...",
        "expired",
        "40014",
    ),
    # 9902: the carrier never confirmed; not proof of failure.
    (
        "bandwidth",
        bandwidth_failed(9902),
        "14762070468292kw2fuqty55yp2b2",
        "unknown",
        "9902",
    ),
]


@pytest.mark.parametrize(
    ("provider", "payload", "provider_message_id", "status", "code"), STATUS_CASES
)
def test_status_callback_moves_message(
    client, gateway_sender, provider, payload, provider_message_id, status, code
):
    # given
    sender = gateway_sender(provider)
    message = outbound(sender, provider_message_id)
    # when
    response = signed_post(client, sender, payload)
    # then
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == status
    assert (message.error.code if message.error else None) == code
    assert message.events.get().payload  # the raw callback is kept


def test_twilio_acknowledges_with_empty_twiml(client, gateway_sender):
    sender = gateway_sender("twilio")
    outbound(sender, "SM1f0e...")
    response = signed_post(client, sender, payloads.TWILIO_UNDELIVERED)
    assert response["Content-Type"] == "text/xml"
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


def test_twilio_receipt_found_by_our_uuid_before_the_sid_is_stored(
    client, gateway_sender
):
    sender = gateway_sender("twilio")
    message = factories.MessageFactory(
        campaign__account=sender.account,
        sender=sender,
        provider="twilio",
        status=Status.SENDING,
    )
    path = webhook_path(sender, message_uuid=str(message.uuid))
    response = signed_post(client, sender, twilio_status("delivered"), path=path)
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def test_bandwidth_receipt_found_by_tag(client, gateway_sender):
    sender = gateway_sender("bandwidth")
    message = factories.MessageFactory(
        campaign__account=sender.account,
        sender=sender,
        provider="bandwidth",
        status=Status.SENT,
    )
    event = copy.deepcopy(payloads.BANDWIDTH_DELIVERED[0])
    event["message"]["tag"] = str(message.uuid)
    assert signed_post(client, sender, [event]).status_code == 200
    message.refresh_from_db()
    assert message.status == Status.DELIVERED


def forged(client, sender, payload):
    """The payload signed with another sender's credentials at the same provider."""
    return signed_post(
        client, sender, payload, credentials=OTHER_CREDENTIALS[sender.provider]
    )


def stale(client, sender, payload):
    """Signed correctly, but more than 5 minutes ago (a replay)."""
    return signed_post(client, sender, payload, timestamp=int(time.time()) - 301)


REJECTIONS = [
    ("twilio", forged),
    ("telnyx", forged),
    ("bandwidth", forged),
    ("telnyx", stale),
]


@pytest.mark.parametrize(("provider", "attack"), REJECTIONS)
def test_inauthentic_request_is_refused_and_changes_nothing(
    client, gateway_sender, provider, attack
):
    # given
    sender = gateway_sender(provider)
    _, payload, provider_message_id, *_ = next(
        case for case in payloads.STATUS_EXAMPLES if case[0] == provider
    )
    message = outbound(sender, provider_message_id)
    # when
    response = attack(client, sender, payload)
    # then
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert not MessageEvent.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_unsigned_request_is_refused(client, gateway_sender, provider):
    sender = gateway_sender(provider)
    message = outbound(sender, "whatever")
    body = (
        b'{"data": {}}'
        if provider != "twilio"
        else b"MessageSid=whatever&MessageStatus=delivered"
    )
    kind = (
        "application/json"
        if provider != "twilio"
        else "application/x-www-form-urlencoded"
    )
    response = client.post(webhook_path(sender), body, content_type=kind)
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert not MessageEvent.objects.exists()


def test_twilio_tampered_parameter_is_refused(client, gateway_sender):
    sender = gateway_sender("twilio")
    message = outbound(sender, "SM1f0e...")
    genuine = signed_post(client, sender, twilio_status("sent"))  # a valid signature
    signature = genuine.wsgi_request.headers["X-Twilio-Signature"]
    response = client.post(
        webhook_path(sender),
        "MessageSid=SM1f0e...&MessageStatus=delivered&SmsStatus=delivered",
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT


def test_unknown_sender_or_provider_mismatch_is_404(client, gateway_sender):
    sender = gateway_sender("bandwidth")
    path = webhook_path(sender)
    assert client.post(path.replace("bandwidth", "twilio"), {}).status_code == 404
    assert client.post(path.replace("bandwidth", "nosuch"), {}).status_code == 404
    other = path.replace(str(sender.uuid), "00000000-0000-0000-0000-000000000000")
    assert client.post(other, {}).status_code == 404


@pytest.mark.parametrize("provider", ["telnyx", "bandwidth"])
def test_malformed_body_from_an_authentic_sender_is_kept(
    client, gateway_sender, provider
):
    sender = gateway_sender(provider)
    response = signed_post(client, sender, b"{not json")
    assert response.status_code == 400
    event = MessageEvent.objects.get()
    assert event.message is None
    assert event.kind == MessageEvent.Kind.RECEIPT
    assert event.payload["raw"] == "{not json"
    assert "not JSON" in event.payload["error"]


def test_receipt_for_unknown_message_is_parked_then_claimed(client, gateway_sender):
    # given: the receipt beats the send call that stores the provider's id
    sender = gateway_sender("twilio")
    response = signed_post(client, sender, payloads.TWILIO_UNDELIVERED)
    assert response.status_code == 200
    parked = MessageEvent.objects.get()
    assert parked.message is None
    # when the send stores the id and claims what arrived before it
    message = outbound(sender, "SM1f0e...")
    messages_claim_parked_receipts(message_ids=[message.pk])
    # then
    message.refresh_from_db()
    assert message.status == Status.UNDELIVERED
    assert message.error.code == "30003"


@pytest.fixture
def enqueued(monkeypatch):
    """The ids handed to the send pipeline."""
    calls: list[int] = []
    monkeypatch.setattr(
        "messaging.inbound.messages_enqueue",
        lambda *, message_ids: calls.extend(message_ids),
    )
    return calls


@pytest.mark.parametrize("provider", PROVIDERS)
def test_inbound_stop_opts_out_and_confirms_once(
    client, gateway_sender, enqueued, provider
):
    # given
    sender = gateway_sender(provider)
    lead = factories.LeadFactory(account=sender.account, phone="+13125550100")
    payload = payloads.INBOUND[provider]("Stop", sender_number=sender.phone_number)
    # when: the provider delivers it twice
    assert signed_post(client, sender, payload).status_code == 200
    assert signed_post(client, sender, payload).status_code == 200
    # then
    assert OptOut.objects.filter(account=sender.account, phone=lead.phone).exists()
    received = Message.objects.get(direction=Message.Direction.INBOUND)
    assert (received.status, received.lead, received.body) == (
        Status.RECEIVED,
        lead,
        "Stop",
    )
    reply = Message.objects.get(direction=Message.Direction.OUTBOUND)
    assert reply.body == sender.account.opt_out_reply
    assert (reply.status, reply.lead, reply.sender) == (Status.QUEUED, lead, sender)
    assert reply.expires_at is not None
    assert enqueued == [reply.pk]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_inbound_stop_not_confirmed_when_provider_does(
    client, gateway_sender, enqueued, provider
):
    sender = gateway_sender(provider, provider_confirms_opt_out=True)
    payload = payloads.INBOUND[provider]("STOP", sender_number=sender.phone_number)
    assert signed_post(client, sender, payload).status_code == 200
    assert OptOut.objects.filter(phone="+13125550100").exists()
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
    assert enqueued == []


def test_inbound_plain_text_and_start(client, gateway_sender, enqueued):
    sender = gateway_sender("telnyx")
    factories.LeadFactory(account=sender.account, phone="+13125550100")
    OptOut.objects.create(
        account=sender.account, phone="+13125550100", source="keyword"
    )
    for sid, text in [("a", "See you Sunday"), ("b", "START")]:
        payload = payloads.telnyx_inbound(
            text, sid=sid, sender_number=sender.phone_number
        )
        assert signed_post(client, sender, payload).status_code == 200
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 2
    assert not OptOut.objects.exists()
    assert enqueued == []


@pytest.mark.parametrize("n_receipts", [1, 20])
def test_webhook_query_count_is_flat(
    client, gateway_sender, django_assert_num_queries, n_receipts
):
    sender = gateway_sender("bandwidth")
    events = []
    for n in range(n_receipts):
        outbound(sender, f"bw{n}")
        event = copy.deepcopy(payloads.BANDWIDTH_DELIVERED[0])
        event["message"]["id"] = f"bw{n}"
        events.append(event)
    with django_assert_num_queries(9):  # budget pinned once; must not grow with rows
        assert signed_post(client, sender, events).status_code == 200
    assert Message.objects.filter(status=Status.DELIVERED).count() == n_receipts


def test_ingest_without_a_sender_finds_the_number_texted(gateway_sender, enqueued):
    # the simulator's in-process callbacks carry no sender: the number decides
    sender = gateway_sender("twilio")
    text = Inbound("SMin9", "+13125550100", sender.phone_number, "STOP", {})
    webhook_ingest(provider=provider_for("twilio"), parsed=Parsed(inbound=[text]))
    assert Message.objects.get(direction=Message.Direction.INBOUND).sender == sender
    assert OptOut.objects.filter(account=sender.account, phone="+13125550100").exists()


def test_inbound_help_gets_the_account_help_reply(client, gateway_sender, enqueued):
    sender = gateway_sender("bandwidth")
    payload = payloads.bandwidth_inbound("help", sender_number=sender.phone_number)
    assert signed_post(client, sender, payload).status_code == 200
    reply = Message.objects.get(direction=Message.Direction.OUTBOUND)
    assert reply.body == sender.account.help_reply
    assert not OptOut.objects.exists()


def test_twilio_signature_over_the_url_with_default_port(
    client, gateway_sender, settings
):
    # Twilio signs https URLs with or without ":443"; both must verify.
    settings.PORTAL_PUBLIC_URL = "https://sms.example.org"
    sender = gateway_sender("twilio")
    message = outbound(sender, "SM1f0e...")
    path = webhook_path(sender)
    signature = RequestValidator("twilio-token").compute_signature(
        "https://sms.example.org:443" + path,
        MultiValueDict(
            {key: [value] for key, value in payloads.TWILIO_UNDELIVERED.items()}
        ),
    )
    response = client.post(
        path,
        urlencode(payloads.TWILIO_UNDELIVERED),
        content_type="application/x-www-form-urlencoded",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.UNDELIVERED
