"""Bandwidth Messaging API v2: JSON with Basic auth, Basic-auth protected webhooks."""

import base64
import hmac
from collections.abc import Mapping
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging.providers.base import (
    Inbound,
    MalformedWebhook,
    Outgoing,
    Parsed,
    Provider,
    SendResult,
    WebhookRequest,
)
from messaging.providers.http import (
    message_uuid,
    provider_post,
    receipt,
    refused,
    require,
    response_json,
    webhook_json,
)
from messaging.statuses import Status

INBOUND_TYPE = "message-received"
# Bandwidth answers 202 with no status word; this records what the answer meant.
ACCEPTED = "accepted"


def basic_auth(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class BandwidthProvider(Provider):
    name = "bandwidth"
    credential_keys = (
        "account_id",
        "username",
        "password",
        "application_id",
        "webhook_username",
        "webhook_password",
    )

    def send(self, *, credentials: Mapping[str, str], outgoing: Outgoing) -> SendResult:
        request = {
            "to": [outgoing.to],
            "from": outgoing.from_number,
            "text": outgoing.body,
            "applicationId": credentials["application_id"],
            "tag": outgoing.message_uuid,  # echoed in every callback
        }
        if outgoing.validity_seconds:
            expiration = timezone.now() + timedelta(seconds=outgoing.validity_seconds)
            request["expiration"] = expiration.isoformat()
        account_id = credentials["account_id"]
        response = provider_post(
            f"{settings.BANDWIDTH_API_URL}/api/v2/users/{account_id}/messages",
            json=request,
            auth=(credentials["username"], credentials["password"]),
        )
        body = response_json(response)
        if response.status_code != 202:
            return refused(response, None)  # Bandwidth's errors carry no code
        return SendResult(
            status=Status.SENT,
            provider_message_id=body["id"],
            provider_status=ACCEPTED,
            payload=body,
        )

    def verify(
        self, *, credentials: Mapping[str, str], request: WebhookRequest
    ) -> bool:
        username = credentials.get("webhook_username", "")
        password = credentials.get("webhook_password", "")
        if not (username and password):
            return False  # no credentials configured: nothing can be authentic
        given = request.headers.get("Authorization", "")
        return hmac.compare_digest(
            given.encode(), basic_auth(username, password).encode()
        )

    def parse(self, *, request: WebhookRequest) -> Parsed:
        events = webhook_json(request.body)
        if not isinstance(events, list):
            raise MalformedWebhook("expected a JSON array of events")
        parsed = Parsed()
        for event in events:
            message = require(event, "message")
            if require(event, "type") == INBOUND_TYPE:
                parsed.inbound.append(
                    Inbound(
                        provider_message_id=require(message, "id"),
                        from_number=require(message, "from"),
                        to_number=require(event, "to"),
                        body=message.get("text") or "",
                        payload=event,
                        # Bandwidth's media URLs need our API credentials and
                        # expire after 2 days; the link records what was sent.
                        media=tuple(
                            url
                            for url in message.get("media") or []
                            if isinstance(url, str) and url
                        ),
                    )
                )
                continue
            parsed.receipts.append(
                receipt(
                    provider=self.name,
                    provider_message_id=require(message, "id"),
                    word=event["type"],
                    code=event.get("errorCode"),
                    payload=event,
                    uuid_hint=message_uuid(message.get("tag")),
                )
            )
        return parsed
