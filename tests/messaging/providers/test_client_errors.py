"""What a caller puts in a webhook never makes it answer 500."""

import time

import pytest

from messaging.models import MessageEvent, WebhookEvent
from tests.messaging.providers.signing import signed_post, webhook_path

pytestmark = pytest.mark.django_db

DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "timestamp",
    ["9" * 4000, "9" * 5000, "1e400", "-" + "9" * 400, "nan"],
    ids=["4000 digits", "5000 digits", "exponent", "negative", "nan"],
)
def test_a_telnyx_timestamp_out_of_range_is_refused(client, gateway_sender, timestamp):
    sender = gateway_sender("telnyx")
    response = client.post(
        webhook_path(sender),
        b"{}",
        content_type="application/json",
        headers={"telnyx-timestamp": timestamp, "telnyx-signature-ed25519": "AAAA"},
    )
    assert response.status_code == 403
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize("provider", ["telnyx", "bandwidth"])
def test_json_nested_100000_levels_unsigned_is_refused(
    client, gateway_sender, provider
):
    sender = gateway_sender(provider)
    response = client.post(webhook_path(sender), DEEP, content_type="application/json")
    assert response.status_code == 403


@pytest.mark.parametrize("provider", ["telnyx", "bandwidth"])
def test_json_nested_100000_levels_signed_is_kept_with_its_reason(
    client, gateway_sender, provider
):
    # An authentic body that cannot be read is answered (the provider's retry
    # would not fix it) and kept for support, as ARCHITECTURE section 10 says.
    sender = gateway_sender(provider)
    response = signed_post(client, sender, DEEP, timestamp=int(time.time()))
    assert response.status_code == 200
    kept = MessageEvent.objects.get()
    assert kept.payload["error"] == "body is JSON nested too deeply to read"
    assert kept.sender == sender
    assert not WebhookEvent.objects.exists()
