"""Credentials at each provider, and requests signed the way each provider signs them."""

import base64
import json
import time
from urllib.parse import urlencode

from nacl.signing import SigningKey
from twilio.request_validator import RequestValidator

from django.conf import settings
from django.utils.datastructures import MultiValueDict

from messaging.providers.bandwidth import basic_auth
from messaging.providers.base import webhook_url
from messaging.tasks import apply_status_batch_task


def telnyx_credentials(seed: bytes) -> dict[str, str]:
    key = SigningKey(seed * 32)  # a fixed seed: a reproducible key pair
    public = base64.b64encode(bytes(key.verify_key)).decode()
    SIGNING_KEYS[public] = key
    return {
        "api_key": "KEY123",
        "public_key": public,
        "messaging_profile_id": "4000eba1-0000-0000-0000-000000000000",
    }


SIGNING_KEYS: dict[str, SigningKey] = {}  # Telnyx public key -> its private key
CREDENTIALS = {
    "twilio": {"account_sid": "AC123", "auth_token": "twilio-token"},
    "telnyx": telnyx_credentials(b"t"),
    "bandwidth": {
        "account_id": "9900000",
        "username": "api-user",
        "password": "api-pass",
        "application_id": "93de2206-0000-0000-0000-000000000000",
        "webhook_username": "hook-user",
        "webhook_password": "hook-pass",
    },
}
# Another sender's credentials at each provider: authentic, but not this sender's.
OTHER_CREDENTIALS = {
    "twilio": {"account_sid": "AC999", "auth_token": "other-token"},
    "telnyx": telnyx_credentials(b"o"),
    "bandwidth": CREDENTIALS["bandwidth"]
    | {"webhook_username": "other-user", "webhook_password": "other-pass"},
}
# Keys no sender of ours holds: what a forger can sign with.
FORGED_CREDENTIALS = {
    "twilio": {"account_sid": "AC123", "auth_token": "guessed-token"},
    "telnyx": telnyx_credentials(b"f"),
    "bandwidth": CREDENTIALS["bandwidth"]
    | {"webhook_username": "hook-user", "webhook_password": "guessed"},
}


def webhook_path(sender, *, message_uuid: str | None = None) -> str:
    url = webhook_url(sender.provider, str(sender.uuid), message_uuid=message_uuid)
    return url.removeprefix(settings.PORTAL_PUBLIC_URL.rstrip("/"))


def signed_post(
    client, sender, payload, *, credentials=None, path=None, timestamp=None, apply=True
):
    """POST payload to the sender's webhook, signed with credentials (default: its own).

    Then, unless apply is False, run the status task (eagerly) as beat does every
    second, so that what the webhook recorded is applied.
    """
    response = _signed_request(client, sender, payload, credentials, path, timestamp)
    if apply:
        apply_status_batch_task.delay()
    return response


def _signed_request(client, sender, payload, credentials, path, timestamp):
    credentials = credentials or CREDENTIALS[sender.provider]
    path = path or webhook_path(sender)
    if sender.provider == "twilio":
        url = settings.PORTAL_PUBLIC_URL.rstrip("/") + path
        signature = RequestValidator(credentials["auth_token"]).compute_signature(
            url, MultiValueDict({key: [value] for key, value in payload.items()})
        )
        return client.post(
            path,
            urlencode(payload),
            content_type="application/x-www-form-urlencoded",
            headers={"X-Twilio-Signature": signature},
        )
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if sender.provider == "telnyx":
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        signed = SIGNING_KEYS[credentials["public_key"]].sign(
            f"{timestamp}|".encode() + body
        )
        headers = {
            "telnyx-timestamp": timestamp,
            "telnyx-signature-ed25519": base64.b64encode(signed.signature).decode(),
        }
    else:
        username, password = (
            credentials["webhook_username"],
            credentials["webhook_password"],
        )
        headers = {"Authorization": basic_auth(username, password)}
    return client.post(path, body, content_type="application/json", headers=headers)
