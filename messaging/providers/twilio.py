"""Twilio Programmable Messaging: form-encoded API, HMAC-SHA1 signed webhooks."""

import hmac
from collections.abc import Mapping

from twilio.request_validator import RequestValidator

from django.conf import settings
from django.http import HttpResponse
from django.utils.datastructures import MultiValueDict

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
    provider_post,
    receipt,
    refused,
    response_json,
    url_message_uuid,
)
from messaging.statuses import Status, word_status

# Twilio keeps a message queued for at most 10 h; a longer ValidityPeriod is refused.
MAX_VALIDITY_SECONDS = 36_000
# TwiML that sends no reply: Twilio would otherwise text back whatever body we return.
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# An MMS carries at most 10 media, as MediaUrl0..MediaUrl9.
MAX_MEDIA = 10


class TwilioProvider(Provider):
    name = "twilio"
    credential_keys = ("account_sid", "auth_token")

    def send(self, *, credentials: Mapping[str, str], outgoing: Outgoing) -> SendResult:
        sid = credentials["account_sid"]
        form = {
            "To": outgoing.to,
            "From": outgoing.from_number,
            "Body": outgoing.body,
            "StatusCallback": outgoing.status_callback_url,
        }
        if outgoing.validity_seconds:
            form["ValidityPeriod"] = str(
                min(outgoing.validity_seconds, MAX_VALIDITY_SECONDS)
            )
        response = provider_post(
            f"{settings.TWILIO_API_URL}/2010-04-01/Accounts/{sid}/Messages.json",
            data=form,
            auth=(sid, credentials["auth_token"]),
            headers={"Accept": "application/json"},
        )
        body = response_json(response)
        if response.status_code != 201:
            return refused(response, body.get("code"))
        return SendResult(
            status=Status.SENT,
            provider_message_id=body["sid"],
            provider_status=body.get("status", ""),
            payload=body,
        )

    def verify(
        self, *, credentials: Mapping[str, str], request: WebhookRequest
    ) -> bool:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            return False
        validator = RequestValidator(credentials.get("auth_token", ""))
        form = MultiValueDict(dict(request.form))
        # The URL as configured is one of the two that validate() signs (with
        # and without the port), so a match here is its answer: one HMAC
        # instead of two for every callback signed over the URL it was sent to.
        expected = validator.compute_signature(request.url, form)
        return hmac.compare_digest(
            expected.encode(), signature.encode()
        ) or validator.validate(request.url, form, signature)

    def parse(self, *, request: WebhookRequest) -> Parsed:
        form = {key: values[-1] for key, values in request.form.items()}
        word = form.get("MessageStatus") or form.get("SmsStatus", "")
        if "MessageSid" not in form or not word:
            raise MalformedWebhook("neither a status callback nor an inbound message")
        if word_status(word, self.name) == Status.RECEIVED:
            inbound = Inbound(
                provider_message_id=form["MessageSid"],
                from_number=form.get("From", ""),
                to_number=form.get("To", ""),
                body=form.get("Body", ""),
                payload=form,
                media=tuple(
                    form[f"MediaUrl{n}"]
                    for n in range(MAX_MEDIA)
                    if form.get(f"MediaUrl{n}")
                ),
            )
            return Parsed(inbound=[inbound])
        update = receipt(
            provider=self.name,
            provider_message_id=form["MessageSid"],
            word=word,
            code=form.get("ErrorCode"),
            payload=form,
            uuid_hint=url_message_uuid(request.url),
        )
        return Parsed(receipts=[update])

    def acknowledge(self) -> HttpResponse:
        return HttpResponse(EMPTY_TWIML, content_type="text/xml")
