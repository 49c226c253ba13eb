"""Telnyx Messaging API v2: JSON with a Bearer key, Ed25519 signed webhooks."""

import base64
import binascii
import time
from collections.abc import Mapping

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from django.conf import settings

from messaging.providers.base import (
    Inbound,
    Outgoing,
    Parsed,
    Provider,
    SendResult,
    WebhookRequest,
)
from messaging.providers.http import (
    provider_post,
    receipt,
    refused,
    require,
    response_json,
    url_message_uuid,
    webhook_json,
)
from messaging.statuses import Status

# Telnyx's SDKs reject a signature more than 5 minutes from now: a captured
# request cannot be replayed later, and a duplicate inside the window is a no-op.
SIGNATURE_TOLERANCE_SECONDS = 300
STATUS_EVENTS = frozenset({"message.sent", "message.finalized"})
INBOUND_EVENT = "message.received"


class TelnyxProvider(Provider):
    name = "telnyx"
    credential_keys = ("api_key", "public_key", "messaging_profile_id")

    def send(self, *, credentials: Mapping[str, str], outgoing: Outgoing) -> SendResult:
        # No validity period: the v2 send API has no field for one (reference/
        # providers.md 2(a), telnyx-python's MessageSendParams), and an unknown
        # field risks a 4xx. The portal's expiry sweep keeps a stale message
        # from being handed over; Telnyx expires its own queue (40014).
        request = {
            "to": outgoing.to,
            "from": outgoing.from_number,
            "text": outgoing.body,
            "webhook_url": outgoing.status_callback_url,
        }
        if credentials.get("messaging_profile_id"):
            request["messaging_profile_id"] = credentials["messaging_profile_id"]
        response = provider_post(
            f"{settings.TELNYX_API_URL}/v2/messages",
            json=request,
            headers={"Authorization": "Bearer " + credentials["api_key"]},
        )
        body = response_json(response)
        if response.status_code != 200:
            errors = body.get("errors") or [{}]
            return refused(response, errors[0].get("code"))
        data = body["data"]
        return SendResult(
            status=Status.SENT,
            provider_message_id=data["id"],
            provider_status=(data.get("to") or [{}])[0].get("status", ""),
            payload=body,
        )

    def verify(
        self, *, credentials: Mapping[str, str], request: WebhookRequest
    ) -> bool:
        timestamp = request.headers.get("telnyx-timestamp", "")
        try:
            age = abs(time.time() - int(timestamp))
            key = VerifyKey(base64.b64decode(credentials.get("public_key", "")))
            signature = base64.b64decode(
                request.headers.get("telnyx-signature-ed25519", "")
            )
            key.verify(f"{timestamp}|".encode() + request.body, signature)
        # OverflowError: a timestamp too big for a float is no time at all.
        except (
            ValueError,
            TypeError,
            OverflowError,
            binascii.Error,
            BadSignatureError,
        ):
            return False
        return age <= SIGNATURE_TOLERANCE_SECONDS

    def parse(self, *, request: WebhookRequest) -> Parsed:
        envelope = webhook_json(request.body)
        event = require(envelope, "data", "event_type")
        payload = require(envelope, "data", "payload")
        if event == INBOUND_EVENT:
            inbound = Inbound(
                provider_message_id=require(payload, "id"),
                from_number=require(payload, "from", "phone_number"),
                to_number=require(payload, "to", 0, "phone_number"),
                body=payload.get("text") or "",
                payload=envelope,
                media=tuple(
                    item["url"]
                    for item in payload.get("media") or []
                    if isinstance(item, dict) and isinstance(item.get("url"), str)
                ),
            )
            return Parsed(inbound=[inbound])
        if event not in STATUS_EVENTS:
            return Parsed()  # other events (e.g. number orders) are not about messages
        errors = payload.get("errors") or [{}]
        to = (payload.get("to") or [{}])[0]
        update = receipt(
            provider=self.name,
            provider_message_id=require(payload, "id"),
            word=to.get("status") or event,
            carrier=str(to.get("carrier") or ""),
            code=errors[0].get("code"),
            payload=envelope,
            uuid_hint=url_message_uuid(request.url),
        )
        return Parsed(receipts=[update])
