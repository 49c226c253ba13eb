"""The simulator posts its callbacks as webhook rows; the status task applies them."""

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from django.utils import timezone

from messaging import tasks
from messaging.dispatch import messages_send
from messaging.models import Message, OptOut, WebhookEvent
from messaging.statuses import Status
from messaging.tasks import apply_status_batch_task
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(sender, settings, monkeypatch, django_capture_on_commit_callbacks):
    """Send a message from the simulated sender to phone; the status task waits for a call."""
    settings.SIMULATOR_SEND_LOG = ""
    monkeypatch.setattr(tasks.apply_status_batch_task, "delay", lambda: None)

    def send_to(phone: str) -> Message:
        message = factories.MessageFactory(
            campaign__account=sender.account,
            campaign__sender=sender,
            lead__phone=phone,
            expires_at=timezone.now() + timedelta(hours=1),
        )
        with django_capture_on_commit_callbacks(execute=True):
            messages_send(message_ids=[message.pk])
        return message

    return send_to


def test_receipts_and_replies_wait_at_the_senders_webhook_url(sender, send):
    # when the simulator sends to its number that is delivered and then says STOP
    message = send("+15005550008")
    # then its callbacks wait as the webhook view would have kept them
    recorded = list(WebhookEvent.objects.order_by("pk"))
    assert {event.sender for event in recorded} == {sender}
    receipts = [event for event in recorded if "MessageStatus" in event.form]
    reply = [event for event in recorded if "Body" in event.form]
    assert {event.form["MessageStatus"][0] for event in receipts} == {
        "sent",
        "delivered",
    }
    for event in receipts:
        assert parse_qs(urlsplit(event.url).query)["message"] == [str(message.uuid)]
        assert parse_qs(event.body)["MessageStatus"] == event.form["MessageStatus"]
    assert [event.form["Body"] for event in reply] == [["STOP"]]
    assert Message.objects.get(pk=message.pk).status == Status.SENT


def test_the_status_task_applies_them_like_any_provider_s(sender, send):
    message = send("+15005550008")
    apply_status_batch_task.apply()
    assert Message.objects.get(pk=message.pk).status == Status.DELIVERED
    stop = Message.objects.get(direction=Message.Direction.INBOUND)
    assert (stop.sender, stop.body) == (sender, "STOP")
    assert OptOut.objects.filter(account=sender.account, phone="+15005550008").exists()
    assert not WebhookEvent.objects.exists()


def test_callbacks_for_a_sender_that_is_gone_are_lost(sender, send):
    # as a provider's posts to a URL that answers 404 are
    from messaging.providers.simulator import simulator_callbacks_post

    url = f"http://testserver/webhooks/simulator/{sender.uuid}/".replace(
        str(sender.uuid)[:8], "00000000"
    )
    form = {"MessageSid": "SMgone", "MessageStatus": "delivered"}
    assert simulator_callbacks_post(callbacks=[(url, form)]) == 0
    assert not WebhookEvent.objects.exists()
