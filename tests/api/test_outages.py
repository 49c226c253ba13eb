"""A broker outage loses nothing: launches and one-off messages answer clearly and finish later."""

from datetime import timedelta
from unittest import mock

import pytest

from django.urls import reverse
from django.utils import timezone

from campaigns.fan_out import campaigns_resume_fan_outs
from campaigns.models import Campaign
from messaging.models import Message
from portal.models import IdempotencyKey
from portal.publishing import QueueUnavailable, task_publish
from tests import factories

# The web request must commit for real: its publish runs after the commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def draft(account, sender):
    leads = factories.LeadListFactory(account=account)
    leads.leads.add(*factories.LeadFactory.create_batch(3, account=account))
    campaign = factories.CampaignFactory(account=account, sender=sender)
    campaign.lists.add(leads)
    return campaign


def test_publishing_to_a_dead_broker_fails_fast_with_queue_unavailable(broker_down):
    from campaigns.tasks import fan_out_campaign_task

    with pytest.raises(QueueUnavailable):
        task_publish(fan_out_campaign_task, 1)


def test_api_launch_with_the_broker_down_answers_503_and_finishes_once_it_is_back(
    api, draft, broker_down
):
    # given the broker refuses connections
    url = reverse("api:campaign-launch", args=[draft.pk])
    headers = {"HTTP_IDEMPOTENCY_KEY": "launch-1"}
    # when the campaign is launched
    response = api.post(url, {"confirm_warnings": True}, format="json", **headers)
    # then the answer is an API error that says the launch stands
    assert response.status_code == 503
    assert response.json()["code"] == "queue_unavailable"
    assert "starts sending by itself" in response.json()["detail"]
    draft.refresh_from_db()
    assert draft.state == Campaign.State.PROCESSING
    # and a retry with the same key gets the same answer, launching nothing more
    again = api.post(url, {"confirm_warnings": True}, format="json", **headers)
    assert again.status_code == 503 and again["Idempotent-Replayed"] == "true"
    # when the broker is back (tasks run here) and the sweep finds the fan-out idle
    broker_down.conf.task_always_eager = True
    later = timezone.now() + timedelta(minutes=3)
    assert campaigns_resume_fan_outs(now=later) == 1
    # then every lead got its one message, and the sweep has nothing left to do
    draft.refresh_from_db()
    assert draft.fanned_out_at is not None
    assert Message.objects.filter(campaign=draft).count() == 3
    assert campaigns_resume_fan_outs(now=later + timedelta(minutes=3)) == 0


def test_portal_launch_with_the_broker_down_says_so_in_words(
    client, account, draft, broker_down
):
    member = factories.MembershipFactory(account=account).user
    member.save()  # the factory skips the save after set_password
    client.force_login(member)
    url = reverse("portal:campaigns_campaign_action", args=[draft.pk, "launch"])
    response = client.post(url, {"confirm_warnings": "1"})
    assert response.status_code == 302
    page = client.get(response.url)
    said = [str(m) for m in page.context["messages"]]
    assert any("task queue cannot be reached" in m for m in said)
    draft.refresh_from_db()
    assert draft.state == Campaign.State.PROCESSING


def test_message_send_with_the_broker_down_queues_the_message_once(
    api, sender, broker_down
):
    # given the broker refuses connections
    body = {"sender": sender.pk, "phone": "+12025550123", "body": "Hi"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "send-down"}
    # when a message is sent, and sent again with the same key
    first = api.post("/api/v1/messages/", body, format="json", **headers)
    again = api.post("/api/v1/messages/", body, format="json", **headers)
    # then it was created once and waits queued for the requeue sweep
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert Message.objects.get().status == "queued"


def test_a_failure_after_the_message_committed_never_sends_it_twice(api, sender):
    # given something fails after the message's transaction committed
    body = {"sender": sender.pk, "phone": "+12025550123", "body": "Hi"}
    headers = {"HTTP_IDEMPOTENCY_KEY": "send-after-commit"}
    with mock.patch(
        "messaging.tasks.send_message_batch_task.apply_async",
        side_effect=RuntimeError("lost after commit"),
    ):
        first = api.post("/api/v1/messages/", body, format="json", **headers)
    # when the client retries with the same key
    again = api.post("/api/v1/messages/", body, format="json", **headers)
    # then both answers name the one message, and no second one exists
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert first.json()["id"] == again.json()["id"] == Message.objects.get().pk
    assert IdempotencyKey.objects.get().response_status == 201
