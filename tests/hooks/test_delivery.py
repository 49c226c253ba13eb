"""Outbound webhooks against a local receiver: signed, batched, retried, in order, none lost."""

import time
from datetime import timedelta

import httpx
import pytest
import time_machine
from werkzeug import Response

from django.utils import timezone

from messaging.hooks import delivery
from messaging.hooks.delivery import hook_deliveries_due
from messaging.hooks.models import HookDelivery, HookEndpoint, HookEvent
from messaging.hooks.services import hook_endpoint_resume, hook_endpoint_rotate_secret
from messaging.models import MessageEvent
from messaging.services import (
    StatusUpdate,
    message_apply_status,
    messages_apply_statuses,
)
from messaging.statuses import Status
from tests import factories
from tests.hooks.conftest import received

pytestmark = pytest.mark.django_db


def _move(messages, status, error=None):
    update = StatusUpdate(status=status, error=error, kind=MessageEvent.Kind.RECEIPT)
    messages_apply_statuses(updates=[(m.pk, update) for m in messages])


def test_hook_delivery_is_signed_and_explains_the_error(
    campaign, hook, httpserver, verify, error_code, django_capture_on_commit_callbacks
):
    endpoint, secret = hook
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        _move([message], Status.UNDELIVERED, error_code)

    request, _ = httpserver.log[0]
    assert verify(secret, request.headers["Portal-Signature"], request.data)
    assert not verify("whsec_other", request.headers["Portal-Signature"], request.data)
    assert not verify(secret, request.headers["Portal-Signature"], request.data + b" ")
    assert not verify(
        secret, request.headers["Portal-Signature"], request.data, now=time.time() + 600
    )
    [event] = received(httpserver)
    assert event["type"] == "message.status_changed"
    assert event["data"] == {
        "message": str(message.uuid),
        "campaign": {"id": campaign.pk, "name": campaign.name},
        "lead": message.lead_id,
        "phone": message.phone,
        "status": "undelivered",
        "bucket": "error",
        "error": {
            "provider": "twilio",
            "code": "30008",
            "title": error_code.title,
            "meaning": error_code.meaning,
            "resolution": error_code.resolution,
            "temporary": error_code.temporary,
            "billable": error_code.billable,
        },
    }
    assert HookDelivery.objects.get().succeeded
    assert not HookEvent.objects.filter(delivery__isnull=True).exists()


def test_hook_rotated_secret_and_the_previous_one_both_sign_for_a_day(
    campaign, hook, httpserver, verify, member, django_capture_on_commit_callbacks
):
    endpoint, old = hook
    new = hook_endpoint_rotate_secret(endpoint_id=endpoint.pk, actor=member)
    httpserver.expect_request("/hook").respond_with_data("ok")
    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)

    with django_capture_on_commit_callbacks(execute=True):
        _move([message], Status.DELIVERED)

    request, _ = httpserver.log[0]
    header = request.headers["Portal-Signature"]
    assert verify(new, header, request.data) and verify(old, header, request.data)


def test_hook_retries_with_backoff_after_500s_and_timeouts(
    campaign, hook, httpserver, monkeypatch, django_capture_on_commit_callbacks
):
    endpoint, _ = hook
    monkeypatch.setattr(delivery, "TIMEOUT", httpx.Timeout(0.5))
    answers = iter(["500", "slow", "500", "ok"])

    def receiver(request):
        answer = next(answers)
        if answer == "slow":
            time.sleep(1)
        return Response(
            "down" if answer != "ok" else "ok", 500 if answer != "ok" else 200
        )

    httpserver.expect_request("/hook").respond_with_handler(receiver)
    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        _move([message], Status.DELIVERED)
    delays = []
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            endpoint.refresh_from_db()
            delays.append(
                round((endpoint.next_attempt_at - timezone.now()).total_seconds())
            )
            assert hook_deliveries_due() == 0  # not due yet
            clock.move_to(endpoint.next_attempt_at)
            hook_deliveries_due()

    assert delays == [10, 20, 40]
    attempts = list(HookDelivery.objects.order_by("pk"))
    assert [a.response_status for a in attempts] == [500, None, 500, 200]
    assert attempts[1].error.startswith("No answer within")
    endpoint.refresh_from_db()
    assert (endpoint.failures, endpoint.next_attempt_at) == (0, None)
    assert len(received(httpserver)) == 4  # the same event each time, delivered once


def test_hook_endpoint_failing_past_a_day_keeps_its_events_for_resume(
    campaign, hook, httpserver, member, django_capture_on_commit_callbacks
):
    endpoint, _ = hook
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        _move([message], Status.DELIVERED)
    with time_machine.travel(start, tick=False) as clock:
        while HookEndpoint.objects.get().state == HookEndpoint.State.ACTIVE:
            clock.move_to(HookEndpoint.objects.get().next_attempt_at)
            hook_deliveries_due()
        assert timezone.now() - start >= timedelta(hours=24)

    assert HookEndpoint.objects.get().state == HookEndpoint.State.FAILING
    assert hook_deliveries_due() == 0
    assert HookEvent.objects.filter(delivery__isnull=True).count() == 1

    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        hook_endpoint_resume(endpoint_id=endpoint.pk, actor=member)
    assert [e["data"]["status"] for e in received(httpserver)] == ["delivered"]


def test_hook_events_of_a_message_arrive_in_order_across_batches(
    campaign, hook, httpserver, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(delivery, "BATCH_SIZE", 3)
    httpserver.expect_request("/hook").respond_with_data("ok")
    messages = factories.MessageFactory.create_batch(4, campaign=campaign)
    with django_capture_on_commit_callbacks(execute=True):
        for status in (Status.SENT, Status.UNKNOWN, Status.DELIVERED):
            _move(messages, status)

    events = received(httpserver)
    assert len(httpserver.log) >= 4  # 12 events, 3 a batch
    assert [e["id"] for e in events] == sorted(e["id"] for e in events)
    for message in messages:
        mine = [
            e["data"]["status"]
            for e in events
            if e["data"]["message"] == str(message.uuid)
        ]
        assert mine == ["sent", "unknown", "delivered"]


def test_hook_no_event_is_lost_while_the_receiver_is_down(
    campaign, hook, httpserver, django_capture_on_commit_callbacks
):
    down = {"on": True}

    def receiver(request):
        return Response("", 503 if down["on"] else 204)

    httpserver.expect_request("/hook").respond_with_handler(receiver)
    messages = factories.MessageFactory.create_batch(5, campaign=campaign)
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for status in (Status.SENT, Status.DELIVERED):
            for message in messages:
                with django_capture_on_commit_callbacks(execute=True):
                    message_apply_status(
                        message_id=message.pk, update=StatusUpdate(status)
                    )
            clock.shift(timedelta(minutes=5))
            hook_deliveries_due()
        down["on"] = False
        clock.shift(timedelta(hours=1))
        hook_deliveries_due()

    delivered = [e for e in received(httpserver)]
    ids = {e["id"] for e in delivered}
    assert ids == set(HookEvent.objects.values_list("pk", flat=True))
    assert len(ids) == 10
    assert not HookEvent.objects.filter(delivery__isnull=True).exists()


def test_hook_queued_and_sending_moves_are_not_sent(campaign, hook, httpserver):
    message = factories.MessageFactory(campaign=campaign)
    _move([message], Status.SENDING)
    assert not HookEvent.objects.exists()


def test_hook_costs_one_query_when_no_endpoint_takes_the_event(
    campaign, django_assert_num_queries
):
    from messaging.hooks.outbox import hook_message_moves_emit

    message = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    with django_assert_num_queries(1):
        hook_message_moves_emit(
            moves=[(message.pk, None, Status.DELIVERED, None)] * 500
        )
    assert not HookEvent.objects.exists()


def test_hook_events_stay_in_their_account(
    campaign, hook, httpserver, django_capture_on_commit_callbacks
):
    other = factories.MessageFactory(status=Status.SENT)  # another account's
    mine = factories.MessageFactory(campaign=campaign, status=Status.SENT)
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        _move([other, mine], Status.DELIVERED)
    assert [e["data"]["message"] for e in received(httpserver)] == [str(mine.uuid)]
