"""POST /api/v1/messages/: one message through the real pipeline, idempotent on retry."""

from unittest import mock

import pytest

from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Message, OptOut
from messaging.outbound import SendRefused, message_send
from portal.api.auth import api_token_create
from portal.models import IdempotencyKey
from portal.services import InsufficientCredit
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/v1/messages/"


def test_message_send_creates_a_queued_message_and_dispatches_it_on_commit(
    account, sender, django_capture_on_commit_callbacks
):
    # given
    lead = factories.LeadFactory(account=account, phone="+12025550123")
    # when
    with (
        mock.patch("messaging.tasks.send_message_batch_task.apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        message = message_send(
            account=account, sender_id=sender.pk, phone="(202) 555-0123", body="Hi!"
        )
    # then
    assert message.status == "queued" and message.phone == "+12025550123"
    assert message.lead == lead  # a known number shows in the lead's history
    assert message.segments == 1 and message.provider == sender.provider
    assert message.expires_at > timezone.now()
    # replies and one-off messages have their own queue, ahead of campaigns
    send.assert_called_once_with(
        args=[[message.pk]], countdown=0, queue="dispatch-priority"
    )


@pytest.mark.parametrize(
    "kwargs,code",
    [
        ({"phone": "12"}, "invalid_number"),
        ({"phone": "+12025550111"}, "opted_out"),
        ({"phone": "+12025550122", "body": " "}, "empty_body"),
        ({"phone": "+12025550122", "body": "x" * 1601}, "body_too_long"),
        ({"phone": "+12025550122", "sender_id": 0}, "unknown_sender"),
        ({"lead_id": 0}, "unknown_lead"),
    ],
)
def test_message_send_refuses_and_creates_nothing(account, sender, kwargs, code):
    OptOut.objects.create(account=account, phone="+12025550111", source="keyword")
    with pytest.raises(SendRefused) as refused:
        message_send(
            account=account, **{"sender_id": sender.pk, "body": "Hi", **kwargs}
        )
    assert refused.value.code == code and refused.value.detail
    assert not Message.objects.exists()


def test_message_send_needs_credit(account, sender):
    account.credit_balance = 0
    account.save()
    with pytest.raises(InsufficientCredit):
        message_send(
            account=account, sender_id=sender.pk, phone="+12025550122", body="Hi"
        )
    assert not Message.objects.exists()


def test_message_send_refuses_a_suppressed_lead(account, sender):
    lead = factories.LeadFactory(account=account, suppressed_at=timezone.now())
    with pytest.raises(SendRefused) as refused:
        message_send(account=account, sender_id=sender.pk, lead_id=lead.pk, body="Hi")
    assert refused.value.code == "suppressed"


def test_api_send_is_idempotent(
    api, account, sender, django_capture_on_commit_callbacks
):
    # given
    body = {"sender": sender.pk, "phone": "+15005550000", "body": "Doors open at 9"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "send-1"}
    # when the client retries after a timeout
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post(URL, body, format="json", **headers)
        again = api.post(URL, body, format="json", **headers)
    # then one message was created and sent, and both answers are the same
    assert first.status_code == again.status_code == 201, first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    message = Message.objects.get()
    assert first.json()["id"] == message.pk
    assert message.status == "delivered"  # the simulator's eager pipeline ran once
    assert message.events.filter(kind="send", status="sending").count() == 1
    # and the same key with another body is refused
    other = api.post(
        URL, {**body, "body": "Doors open at 10"}, format="json", **headers
    )
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert Message.objects.count() == 1
    assert IdempotencyKey.objects.get().endpoint == "message-send"


def test_api_send_refusals_are_answered_once_with_their_code(api, account, sender):
    OptOut.objects.create(account=account, phone="+12025550111", source="keyword")
    body = {"sender": sender.pk, "phone": "+12025550111", "body": "Hi"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "send-2"}
    first = api.post(URL, body, format="json", **headers)
    again = api.post(URL, body, format="json", **headers)
    assert first.status_code == again.status_code == 409
    assert first.json()["code"] == again.json()["code"] == "opted_out"
    invalid = api.post(URL, {**body, "phone": "12"}, format="json")
    assert invalid.status_code == 400 and invalid.json()["code"] == "invalid_number"
    account.credit_balance = 0
    account.save()
    poor = api.post(URL, {**body, "phone": "+12025550122"}, format="json")
    assert poor.status_code == 409 and poor.json()["code"] == "insufficient_credit"
    assert not Message.objects.exists()


def test_api_send_to_a_lead(api, account, sender, django_capture_on_commit_callbacks):
    lead = factories.LeadFactory(account=account, phone="+15005550000")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            URL, {"sender": sender.pk, "lead": lead.pk, "body": "Hi"}, format="json"
        )
    assert response.status_code == 201
    assert response.json()["lead"] == lead.pk
    assert response.json()["phone"] == lead.phone


def test_api_send_needs_phone_or_lead(api, sender):
    response = api.post(URL, {"sender": sender.pk, "body": "Hi"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_api_send_cannot_use_another_accounts_sender(api, other_account):
    theirs = factories.SenderFactory(account=other_account)
    response = api.post(
        URL,
        {"sender": theirs.pk, "phone": "+12025550122", "body": "Hi"},
        format="json",
    )
    assert response.status_code == 400 and response.json()["code"] == "unknown_sender"


@pytest.mark.parametrize("n_senders", [1, 50])
def test_sender_list_query_count_is_flat(n_senders, django_assert_num_queries):
    account = factories.AccountFactory()
    factories.SenderFactory.create_batch(n_senders, account=account)
    _, key = api_token_create(account=account)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    # token, last_used_at, count, page
    with django_assert_num_queries(4):
        response = client.get(reverse("api:sender-list"))
    assert response.json()["count"] == n_senders
    assert "credentials_encrypted" not in response.json()["results"][0]
