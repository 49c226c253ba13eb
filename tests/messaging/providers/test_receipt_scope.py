"""A sender's webhook only changes its own account's messages at its provider."""

import copy

import pytest

from django.urls import reverse

from messaging.models import Message, MessageEvent, OptOut, WebhookEvent
from messaging.senders import sender_create
from messaging.services import messages_claim_parked_receipts
from messaging.statuses import Status
from portal.models import Account
from tests import factories
from tests.messaging.providers import payloads
from tests.messaging.providers.signing import (
    OTHER_CREDENTIALS,
    signed_post,
    webhook_path,
)
from tests.messaging.providers.test_webhooks import telnyx_status, twilio_status

pytestmark = pytest.mark.django_db
PROVIDERS = ["twilio", "telnyx", "bandwidth"]
# Each provider's "the person opted out" code: final, not billable where the
# catalog says so, and advice to opt the number out.
OPTED_OUT_CODE = {"twilio": "21610", "telnyx": "40300", "bandwidth": 4775}


def opted_out_receipt(provider: str, *, provider_message_id: str, tag: str = "..."):
    """A signed-looking receipt saying the person opted out, naming a message."""
    code = OPTED_OUT_CODE[provider]
    if provider == "twilio":
        return twilio_status("failed", code) | {"MessageSid": provider_message_id}
    if provider == "telnyx":
        payload = telnyx_status("message.finalized", "delivery_failed", code)
        payload["data"]["payload"]["id"] = provider_message_id
        return payload
    event = copy.deepcopy(payloads.BANDWIDTH_FAILED[0]) | {"errorCode": code}
    event["message"] |= {"id": provider_message_id, "tag": tag}
    return [event]


@pytest.fixture
def victim(gateway_sender):
    """A billed message, sent and waiting for its receipt, of the `account` fixture."""

    def make(provider: str) -> Message:
        sender = gateway_sender(provider)
        sender.account.credit_balance = 100
        sender.account.save()
        return factories.MessageFactory(
            campaign__account=sender.account,
            sender=sender,
            provider=provider,
            provider_message_id=f"{provider}-victim-1",
            status=Status.SENT,
            billed=True,
        )

    return make


def other_account_sender(provider: str):
    """A sender of another account at the same provider, with its own genuine credentials."""
    return sender_create(
        account=factories.AccountFactory(),
        provider=provider,
        phone_number="+13125559999",
        credentials=OTHER_CREDENTIALS[provider],
    )


def by_uuid(provider, attacker, message):
    """The message named by our uuid: ?message= (Twilio, Telnyx), tag (Bandwidth)."""
    payload = opted_out_receipt(
        provider, provider_message_id="unknown-id", tag=str(message.uuid)
    )
    path = None
    if provider != "bandwidth":
        path = webhook_path(attacker, message_uuid=str(message.uuid))
    return payload, path


def by_provider_id(provider, attacker, message):
    """The message named by the provider's id."""
    return opted_out_receipt(
        provider, provider_message_id=message.provider_message_id
    ), None


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("naming", [by_uuid, by_provider_id])
def test_a_receipt_naming_another_accounts_message_is_refused_and_kept(
    client, victim, provider, naming
):
    # given a message of one account, and a sender of another account
    message = victim(provider)
    attacker = other_account_sender(provider)
    payload, path = naming(provider, attacker, message)
    # when that sender's webhook gets a genuinely signed receipt naming the message
    response = signed_post(
        client, attacker, payload, credentials=OTHER_CREDENTIALS[provider], path=path
    )
    # then it is answered (the provider must not retry) but changes nothing
    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.billed, message.error) == (Status.SENT, True, None)
    assert not message.events.exists()
    assert not OptOut.objects.exists()
    assert Account.objects.get(pk=message.account_id).credit_balance == 100
    # and support finds it, with the sender it came for and a plain reason
    kept = MessageEvent.objects.get(message=None)
    assert kept.sender == attacker
    assert not kept.applied
    assert kept.payload["error"].startswith("Refused: it arrived at the webhook of")
    assert "only change its own account's messages" in kept.payload["error"]
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_receipt_for_the_senders_own_account_still_applies(client, victim, provider):
    # another sender of the same account at the same provider: the same customer
    message = victim(provider)
    own = sender_create(
        account=message.account,
        provider=provider,
        phone_number="+13125559998",
        credentials=OTHER_CREDENTIALS[provider],
    )
    payload, path = by_uuid(provider, own, message)
    signed_post(
        client, own, payload, credentials=OTHER_CREDENTIALS[provider], path=path
    )
    message.refresh_from_db()
    assert message.status in (Status.FAILED, Status.UNDELIVERED)
    assert OptOut.objects.filter(account=message.account, phone=message.phone).exists()


def test_a_receipt_naming_a_message_sent_at_another_provider_is_refused(
    client, victim, gateway_sender
):
    # the same account, but the message went through Telnyx, the receipt came to Twilio
    message = victim("telnyx")
    twilio = gateway_sender("twilio")
    payload, path = by_uuid("twilio", twilio, message)
    signed_post(client, twilio, payload, path=path)
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert "Refused" in MessageEvent.objects.get(message=None).payload["error"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_parked_receipt_is_only_claimed_by_its_senders_account(
    client, victim, provider
):
    # given another account's receipt for an id no message has yet
    attacker = other_account_sender(provider)
    payload = opted_out_receipt(provider, provider_message_id=f"{provider}-victim-1")
    signed_post(client, attacker, payload, credentials=OTHER_CREDENTIALS[provider])
    assert MessageEvent.objects.get(message=None).sender == attacker
    # when a message of this account gets that id from its provider
    message = victim(provider)
    messages_claim_parked_receipts(message_ids=[message.pk])
    # then the parked receipt stays parked and the message unchanged
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert MessageEvent.objects.get().message is None


@pytest.mark.parametrize("provider", PROVIDERS)
def test_inbound_stop_at_a_senders_url_only_opts_out_of_its_account(
    client, gateway_sender, monkeypatch, provider
):
    monkeypatch.setattr("messaging.inbound.messages_enqueue", lambda **kwargs: None)
    # given a lead of this account, and a sender of another account
    sender = gateway_sender(provider)
    lead = factories.LeadFactory(account=sender.account, phone="+13125550100")
    attacker = other_account_sender(provider)
    # when the other sender's webhook gets a STOP from the lead's number, naming this number
    stop = payloads.INBOUND[provider]("STOP", sender_number=sender.phone_number)
    signed_post(client, attacker, stop, credentials=OTHER_CREDENTIALS[provider])
    # then only the other account records it and opts the number out
    received = Message.objects.get(direction=Message.Direction.INBOUND)
    assert (received.account, received.sender, received.lead) == (
        attacker.account,
        attacker,
        None,
    )
    assert list(OptOut.objects.values_list("account", "phone")) == [
        (attacker.account_id, lead.phone)
    ]


def test_support_sees_a_refused_receipt_with_its_sender_and_reason(client, victim):
    message = victim("twilio")
    attacker = other_account_sender("twilio")
    payload, path = by_uuid("twilio", attacker, message)
    signed_post(
        client, attacker, payload, credentials=OTHER_CREDENTIALS["twilio"], path=path
    )
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    response = client.get(reverse("support:messaging_messageevent_changelist"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Kept because" in page
    assert f"Refused: it arrived at the webhook of sender {attacker}" in page


def test_the_simulators_url_takes_no_receipt_from_outside(client, sender):
    # Its receipts come from its own task, in-process; over HTTP nothing is authentic.
    message = factories.MessageFactory(
        campaign__account=sender.account,
        sender=sender,
        provider_message_id="SMsim1",
        status=Status.SENT,
    )
    path = webhook_path(sender, message_uuid=str(message.uuid))
    status = {"MessageSid": "SMsim1", "MessageStatus": "undelivered"}
    assert client.post(path, status).status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert not WebhookEvent.objects.exists()
