"""Sending through each provider's API, against local fakes that speak its format."""

import json
import socket
import threading
from urllib.parse import parse_qs

import pytest
from werkzeug import Response

from messaging.providers import http, provider_for
from messaging.providers.base import Outgoing, ProviderUnavailable, webhook_url
from messaging.statuses import Status
from tests.messaging.providers.apis import (
    ACCEPTED,
    BANDWIDTH_ACCEPTED,
    MESSAGE_UUID,
    PATHS,
    REFUSED,
    SENDER_UUID,
    SETTING,
    TELNYX_OK,
    TWILIO_CREATED,
)
from tests.messaging.providers.signing import CREDENTIALS


def outgoing(provider: str) -> Outgoing:
    return Outgoing(
        message_uuid=MESSAGE_UUID,
        to="+15558675310",
        from_number="+15017122661",
        body="Hello",
        status_callback_url=webhook_url(
            provider, SENDER_UUID, message_uuid=MESSAGE_UUID
        ),
        validity_seconds=3600,
    )


def send(provider: str):
    return provider_for(provider).send(
        credentials=CREDENTIALS[provider], outgoing=outgoing(provider)
    )


@pytest.fixture(params=["twilio", "telnyx", "bandwidth"])
def provider(request, httpserver, settings):
    """Each provider, its API base URL pointed at the local fake."""
    setattr(settings, SETTING[request.param], httpserver.url_for("").rstrip("/"))
    return request.param


def test_send_accepted(provider, httpserver):
    code, body, provider_id, word = ACCEPTED[provider]
    httpserver.expect_request(PATHS[provider], method="POST").respond_with_json(
        body, status=code
    )
    result = send(provider)
    assert (result.status, result.provider_message_id, result.provider_status) == (
        Status.SENT,
        provider_id,
        word,
    )
    assert result.error_code is None


def test_send_refused_keeps_the_provider_code(provider, httpserver):
    code, body, error_code = REFUSED[provider]
    httpserver.expect_request(PATHS[provider], method="POST").respond_with_json(
        body, status=code
    )
    result = send(provider)
    assert (result.status, result.error_code, result.payload) == (
        Status.FAILED,
        error_code,
        body,
    )


@pytest.mark.parametrize("code", [500, 503, 429])
def test_send_server_error_or_rate_limit_is_temporary(provider, httpserver, code):
    httpserver.expect_request(PATHS[provider]).respond_with_data("busy", status=code)
    with pytest.raises(ProviderUnavailable):
        send(provider)


def test_send_timeout_is_temporary(provider, httpserver, monkeypatch):
    monkeypatch.setattr(http, "TIMEOUT", 0.2)
    http.client.cache_clear()
    answered = threading.Event()  # released once the client has given up
    httpserver.expect_request(PATHS[provider]).respond_with_handler(
        lambda request: answered.wait(5) and Response("late", status=500)
    )
    try:
        with pytest.raises(ProviderUnavailable):
            send(provider)
    finally:
        answered.set()
        http.client.cache_clear()


def request_to(httpserver, path: str):
    return next(request for request, _ in httpserver.log if request.path == path)


def test_send_connection_refused_is_temporary(provider, settings):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    setattr(settings, SETTING[provider], f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderUnavailable):
        send(provider)


def test_twilio_request_carries_callback_and_validity(httpserver, settings):
    settings.TWILIO_API_URL = httpserver.url_for("").rstrip("/")
    httpserver.expect_request(PATHS["twilio"]).respond_with_json(
        TWILIO_CREATED, status=201
    )
    send("twilio")
    request = request_to(httpserver, PATHS["twilio"])
    form = parse_qs(request.get_data(as_text=True))
    assert form["StatusCallback"] == [outgoing("twilio").status_callback_url]
    assert MESSAGE_UUID in form["StatusCallback"][0]
    assert form["ValidityPeriod"] == ["3600"]
    assert request.authorization.username == "AC123"


def test_telnyx_request_is_json_with_bearer_key_and_webhook(httpserver, settings):
    settings.TELNYX_API_URL = httpserver.url_for("").rstrip("/")
    httpserver.expect_request(PATHS["telnyx"]).respond_with_json(TELNYX_OK)
    send("telnyx")
    request = request_to(httpserver, PATHS["telnyx"])
    sent = json.loads(request.get_data())
    assert request.headers["Authorization"] == "Bearer KEY123"
    assert sent["webhook_url"] == outgoing("telnyx").status_callback_url
    assert sent["messaging_profile_id"] == CREDENTIALS["telnyx"]["messaging_profile_id"]


def test_bandwidth_request_carries_our_uuid_in_tag(httpserver, settings):
    settings.BANDWIDTH_API_URL = httpserver.url_for("").rstrip("/")
    httpserver.expect_request(PATHS["bandwidth"]).respond_with_json(
        BANDWIDTH_ACCEPTED, status=202
    )
    send("bandwidth")
    request = request_to(httpserver, PATHS["bandwidth"])
    sent = json.loads(request.get_data())
    assert sent["tag"] == MESSAGE_UUID
    assert sent["to"] == ["+15558675310"]
    assert sent["applicationId"] == CREDENTIALS["bandwidth"]["application_id"]
    assert "expiration" in sent
