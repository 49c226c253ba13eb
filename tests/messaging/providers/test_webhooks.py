"""The webhook: every documented payload, signatures, parking, inbound keywords, the queue."""

import copy
import threading
import time
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from django.db import connection, transaction
from django.utils.datastructures import MultiValueDict

from messaging import ingest
from messaging.inbound import inbound_receive
from messaging.ingest import webhook_events_apply, webhook_ingest
from messaging.models import Message, MessageEvent, OptOut, WebhookEvent
from messaging.providers import provider_for
from messaging.providers.base import Inbound, Parsed
from messaging.senders import sender_create, sender_credentials_set
from messaging.services import messages_claim_parked_receipts
from messaging.statuses import Status
from messaging.tasks import apply_status_batch_task
from tests import factories
from tests.messaging.providers import payloads
from tests.messaging.providers.signing import (
    FORGED_CREDENTIALS,
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
    """Signed with a key no sender of ours holds."""
    return signed_post(
        client, sender, payload, credentials=FORGED_CREDENTIALS[sender.provider]
    )


def wrong_sender(client, sender, payload):
    """Genuinely signed for another of our senders, but posted to this sender's URL."""
    sender_create(
        account=factories.AccountFactory(),
        provider=sender.provider,
        phone_number="+13125559999",
        credentials=OTHER_CREDENTIALS[sender.provider],
    )
    return signed_post(
        client, sender, payload, credentials=OTHER_CREDENTIALS[sender.provider]
    )


def stale(client, sender, payload):
    """Signed correctly, but more than 5 minutes ago (a replay).

    Only Telnyx signs a timestamp; a replayed Twilio or Bandwidth request is a
    duplicate, which the status machine ignores.
    """
    return signed_post(client, sender, payload, timestamp=int(time.time()) - 301)


REJECTIONS = [
    *((provider, forged) for provider in PROVIDERS),
    *((provider, wrong_sender) for provider in PROVIDERS),
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
    # when: it is posted and the status task has run
    response = attack(client, sender, payload)
    # then
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert not WebhookEvent.objects.exists()
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
    apply_status_batch_task.delay()
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Status.SENT
    assert not WebhookEvent.objects.exists()
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
    # Answered 2xx: the provider's retries could not make it readable.
    sender = gateway_sender(provider)
    response = signed_post(client, sender, b"{not json")
    assert response.status_code == 200
    assert not WebhookEvent.objects.exists()
    event = MessageEvent.objects.get()
    assert event.message is None
    assert event.kind == MessageEvent.Kind.RECEIPT
    assert event.payload["raw"] == "{not json"
    assert "not JSON" in event.payload["error"]


def test_an_unexpected_shape_is_kept_and_the_rest_of_the_batch_applied(
    client, gateway_sender
):
    # given an authentic request no parser expected, then an ordinary receipt
    sender = gateway_sender("telnyx")
    message = outbound(sender, "40385f64-...")
    odd = {"data": {"event_type": "message.finalized", "payload": ["?"]}}
    signed_post(client, sender, odd, apply=False)
    signed_post(client, sender, telnyx_status("message.finalized", "delivered"))
    # then
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
    kept = MessageEvent.objects.get(message=None)
    assert "AttributeError" in kept.payload["error"]
    assert not WebhookEvent.objects.exists()


def test_a_webhook_that_cannot_be_applied_is_kept_and_the_others_are_applied(
    client, gateway_sender, monkeypatch
):
    # given a STOP that fails to apply, between two receipts of another sender
    sender, other = gateway_sender("twilio"), gateway_sender("twilio")
    message = outbound(other, "SM1f0e...")
    stop = payloads.twilio_inbound("STOP", sender_number=sender.phone_number)
    signed_post(client, other, twilio_status("sent"), apply=False)
    signed_post(client, sender, stop, apply=False)
    signed_post(client, other, twilio_status("delivered"), apply=False)

    def receive(*, sender, messages):
        raise ValueError("cannot receive")

    monkeypatch.setattr(ingest, "inbound_receive", receive)
    # when the status task runs
    assert apply_status_batch_task.delay().get() == 3
    # then the receipts are applied and the STOP kept for support
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
    kept = MessageEvent.objects.get(message=None)
    assert "cannot receive" in kept.payload["error"]
    assert "Body=STOP" in kept.payload["raw"]
    assert not WebhookEvent.objects.exists()


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
        lambda *, message_ids, priority: calls.extend(message_ids),
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
    # given n receipts, in one Bandwidth request and in n Twilio requests
    sender = gateway_sender("bandwidth")
    twilio = gateway_sender("twilio")
    events = []
    for n in range(n_receipts):
        outbound(sender, f"bw{n}")
        outbound(twilio, f"SM{n}")
        event = copy.deepcopy(payloads.BANDWIDTH_DELIVERED[0])
        event["message"]["id"] = f"bw{n}"
        events.append(event)
    # when they are posted: the sender (read once per process), then one INSERT
    with django_assert_num_queries(2):
        assert signed_post(client, sender, events, apply=False).status_code == 200
    with django_assert_num_queries(1):
        assert signed_post(client, sender, events[:1], apply=False).status_code == 200
    for n in range(n_receipts):
        status = twilio_status("delivered") | {"MessageSid": f"SM{n}"}
        assert signed_post(client, twilio, status, apply=False).status_code == 200
    # then the status task applies them all with a budget that does not grow
    # (one of them: are there outbound webhook endpoints for status changes?)
    with django_assert_num_queries(17):
        assert apply_status_batch_task.delay().get() == 2 + n_receipts
    assert Message.objects.filter(status=Status.DELIVERED).count() == 2 * n_receipts


@pytest.mark.parametrize("n_receipts", [1, 20])
def test_receipts_with_error_codes_look_each_code_up_once_per_batch(
    client, gateway_sender, django_assert_num_queries, n_receipts
):
    # given n Twilio receipts that fail with one code, waiting to be applied
    twilio = gateway_sender("twilio")
    for n in range(n_receipts):
        outbound(twilio, f"SM{n}")
        status = twilio_status("undelivered", "30006") | {"MessageSid": f"SM{n}"}
        assert signed_post(client, twilio, status, apply=False).status_code == 200
    # when the status task applies them, its queries do not grow with n
    # (one of them: are there outbound webhook endpoints for status changes?)
    with django_assert_num_queries(16):
        assert apply_status_batch_task.delay().get() == n_receipts
    # and each message carries the catalog's explanation
    assert set(Message.objects.values_list("error__code", flat=True)) == {"30006"}


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
    apply_status_batch_task.delay()
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.status == Status.UNDELIVERED


def test_new_credentials_verify_at_once_and_old_ones_stop(client, gateway_sender):
    # given a sender whose credentials this process has cached
    sender = gateway_sender("twilio")
    outbound(sender, "SM1f0e...")
    assert signed_post(client, sender, twilio_status("sent")).status_code == 200
    # when staff rotate its token at Twilio and here
    sender_credentials_set(sender=sender, credentials=OTHER_CREDENTIALS["twilio"])
    rotated = {"credentials": OTHER_CREDENTIALS["twilio"]}
    # then Twilio's requests signed with the new token are accepted at once
    response = signed_post(client, sender, twilio_status("delivered"), **rotated)
    assert response.status_code == 200
    assert Message.objects.get(provider_message_id="SM1f0e...").status == "delivered"
    assert signed_post(client, sender, twilio_status("sent")).status_code == 403


def test_webhook_records_and_answers_then_the_status_task_applies(
    client, gateway_sender
):
    # given
    sender = gateway_sender("twilio")
    message = outbound(sender, "SM1f0e...")
    # when the provider posts: recorded and answered, not applied yet
    response = signed_post(client, sender, twilio_status("delivered"), apply=False)
    assert response.status_code == 200
    assert Message.objects.get(pk=message.pk).status == Status.SENT
    recorded = WebhookEvent.objects.get()
    assert (recorded.sender, recorded.form["MessageStatus"]) == (sender, ["delivered"])
    # then the status task applies it, once
    apply_status_batch_task.delay()
    apply_status_batch_task.delay()
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
    assert message.events.count() == 1
    assert not WebhookEvent.objects.exists()


def test_a_worker_dying_mid_batch_loses_nothing(client, gateway_sender, monkeypatch):
    # given two recorded receipts
    sender = gateway_sender("twilio")
    message = outbound(sender, "SM1f0e...")
    for word in ("sent", "delivered"):
        signed_post(client, sender, twilio_status(word), apply=False)

    # when the worker dies after part of the batch was written
    def die(**kwargs):
        Message.objects.filter(pk=message.pk).update(provider_status="half-written")
        raise SystemExit("worker killed")

    monkeypatch.setattr(ingest, "receipts_apply", die)
    with pytest.raises(SystemExit):
        apply_status_batch_task.delay()
    # then nothing of it stays, and the next run applies both
    assert Message.objects.get(pk=message.pk).provider_status == ""
    assert WebhookEvent.objects.count() == 2
    monkeypatch.undo()
    assert apply_status_batch_task.delay().get() == 2
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
    assert message.events.count() == 2


def test_a_full_batch_runs_the_task_again_until_the_backlog_is_gone(
    client, gateway_sender, monkeypatch
):
    monkeypatch.setattr(ingest, "WEBHOOK_BATCH_SIZE", 2)
    sender = gateway_sender("twilio")
    for n in range(5):
        outbound(sender, f"SM{n}")
        status = twilio_status("delivered") | {"MessageSid": f"SM{n}"}
        signed_post(client, sender, status, apply=False)
    apply_status_batch_task.delay()
    assert Message.objects.filter(status=Status.DELIVERED).count() == 5
    assert not WebhookEvent.objects.exists()


TWILIO_MEDIA = ["https://api.twilio.com/media/ME1", "https://api.twilio.com/media/ME2"]
TELNYX_MEDIA = ["https://media.telnyx.com/1.jpg", "https://media.telnyx.com/2.png"]
BANDWIDTH_MEDIA = [
    "https://messaging.bandwidth.com/api/v2/users/9900000/media/1.jpg",
    "https://messaging.bandwidth.com/api/v2/users/9900000/media/2.png",
]
# An MMS's fields at each provider (reference/providers.md 1(c), 2(c), 3(c)), and its links.
MMS = {
    "twilio": (
        {
            "NumMedia": "2",
            "MediaUrl0": TWILIO_MEDIA[0],
            "MediaContentType0": "image/jpeg",
            "MediaUrl1": TWILIO_MEDIA[1],
            "MediaContentType1": "image/png",
        },
        TWILIO_MEDIA,
    ),
    "telnyx": (
        {
            "type": "MMS",
            "media": [
                {"url": TELNYX_MEDIA[0], "content_type": "image/jpeg"},
                {"url": TELNYX_MEDIA[1], "content_type": "image/png"},
            ],
        },
        TELNYX_MEDIA,
    ),
    "bandwidth": ({"media": BANDWIDTH_MEDIA}, BANDWIDTH_MEDIA),
}


def with_media(provider: str, text: str, sender_number: str):
    """An inbound text carrying the two pictures of MMS[provider]."""
    payload = payloads.INBOUND[provider](text, sender_number=sender_number)
    fields = MMS[provider][0]
    if provider == "twilio":
        return payload | fields
    if provider == "telnyx":
        payload["data"]["payload"] |= fields
        return payload
    payload[0]["message"] |= fields
    return payload


@pytest.mark.parametrize("provider", PROVIDERS)
def test_inbound_mms_is_kept_with_its_media_links(
    client, gateway_sender, enqueued, provider
):
    sender = gateway_sender(provider)
    mms = with_media(provider, "Look", sender.phone_number)
    assert signed_post(client, sender, mms).status_code == 200
    received = Message.objects.get(direction=Message.Direction.INBOUND)
    assert received.body == "\n".join(["Look", *MMS[provider][1]])
    assert received.events.get().payload  # the raw request, media and all


def test_inbound_stop_with_a_picture_still_opts_out(client, gateway_sender, enqueued):
    sender = gateway_sender("telnyx")
    stop = with_media("telnyx", "STOP", sender.phone_number)
    assert signed_post(client, sender, stop).status_code == 200
    assert OptOut.objects.filter(account=sender.account, phone="+13125550100").exists()


@pytest.mark.django_db(transaction=True)
def test_one_inbound_text_received_by_two_workers_at_once_is_kept_once(
    postgres, gateway_sender, enqueued
):
    # given a provider's retry of a STOP, in two workers' hands at the same time
    sender = gateway_sender("twilio")
    text = Inbound("SMdup", "+13125550100", sender.phone_number, "STOP", {})
    first_holds_it = threading.Event()
    outcomes: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                outcomes["first"] = inbound_receive(sender=sender, messages=[text])
                first_holds_it.set()
                time.sleep(0.5)  # the second worker reaches the same text meanwhile
        finally:
            first_holds_it.set()
            connection.close()

    def second() -> None:
        first_holds_it.wait(5)
        try:
            outcomes["second"] = inbound_receive(sender=sender, messages=[text])
        except Exception as exc:  # the race this test is about
            outcomes["second"] = exc
        finally:
            connection.close()

    # when both receive it
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then the first keeps it, the second finds it kept, and there is one message
    assert len(outcomes["first"]) == 1
    assert outcomes["second"] == []
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 1
    assert OptOut.objects.filter(account=sender.account).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_share_the_backlog_and_apply_each_webhook_once(
    postgres, client, gateway_sender
):
    # given 60 recorded receipts
    sender = gateway_sender("twilio")
    for n in range(60):
        outbound(sender, f"SM{n}")
        status = twilio_status("delivered") | {"MessageSid": f"SM{n}"}
        signed_post(client, sender, status, apply=False)
    taken: list[int] = []
    start = threading.Barrier(2)

    def worker() -> None:
        start.wait()
        try:
            while applied := webhook_events_apply(limit=5):
                taken.append(applied)
        finally:
            connection.close()

    # when two workers drain them side by side
    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then every receipt was taken by one worker and applied once
    assert sum(taken) == 60
    assert not WebhookEvent.objects.exists()
    assert Message.objects.filter(status=Status.DELIVERED).count() == 60
    assert MessageEvent.objects.filter(status=Status.DELIVERED).count() == 60
