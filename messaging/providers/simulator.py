"""The simulated provider: the embedded default, behaving like a real one.

It accepts sends, returns a provider id, and later delivers Twilio-style
receipts through the same ingestion path as real callbacks: asynchronously,
sometimes duplicated and out of order. Outcomes follow a realistic mix, and the
reserved test numbers below force each outcome (as Twilio's magic numbers do):

| number        | outcome                                                   |
|---------------|-----------------------------------------------------------|
| +15005550000  | delivered                                                 |
| +15005550001  | refused at send: invalid number (Twilio 21211)            |
| +15005550002  | undelivered: landline (30006)                             |
| +15005550003  | undelivered: filtered as spam (30007)                     |
| +15005550004  | undelivered: handset unreachable (30003, temporary)       |
| +15005550005  | sent, and no receipt ever arrives                         |
| +15005550006  | refused at send: recipient opted out at carrier (21610)   |
| +15005550007  | provider unavailable (every call times out)               |
| +15005550008  | delivered, then the person replies STOP                   |
| +15005550009  | undelivered: unknown error (30008)                        |
"""

import hashlib
import random
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction

from messaging.catalog import error_get
from messaging.providers.base import (
    Inbound,
    Outgoing,
    Parsed,
    Provider,
    ProviderUnavailable,
    SendResult,
    WebhookRequest,
)
from messaging.services import Receipt, StatusUpdate
from messaging.statuses import Status, word_status

# (receipt status, error code, reply) per outcome.
OUTCOMES: dict[str, tuple[str | None, str | None, str | None]] = {
    "delivered": ("delivered", None, None),
    "landline": ("undelivered", "30006", None),
    "spam": ("undelivered", "30007", None),
    "unreachable": ("undelivered", "30003", None),
    "no_receipt": (None, None, None),
    "stop_reply": ("delivered", None, "STOP"),
    "unknown_error": ("undelivered", "30008", None),
}
MAGIC_NUMBERS = {
    "+15005550000": "delivered",
    "+15005550001": "invalid",
    "+15005550002": "landline",
    "+15005550003": "spam",
    "+15005550004": "unreachable",
    "+15005550005": "no_receipt",
    "+15005550006": "opted_out",
    "+15005550007": "unavailable",
    "+15005550008": "stop_reply",
    "+15005550009": "unknown_error",
}
# A realistic mix for every other number (weights in percent).
DEFAULT_MIX = {
    "delivered": 88,
    "landline": 2,
    "spam": 2,
    "unreachable": 2,
    "no_receipt": 3,
    "unknown_error": 2,
    "stop_reply": 1,
}
SYNC_ERRORS = {"invalid": "21211", "opted_out": "21610"}


def outcome_for(phone: str, message_uuid: str) -> str:
    """Pick the outcome: forced by a magic number, else drawn from the mix, repeatably."""
    if phone in MAGIC_NUMBERS:
        return MAGIC_NUMBERS[phone]
    mix = getattr(settings, "SIMULATOR_MIX", None) or DEFAULT_MIX
    seed = int(
        hashlib.sha256(
            f"{settings.SIMULATOR_SEED}:{message_uuid}".encode()
        ).hexdigest(),
        16,
    )
    return random.Random(seed).choices(list(mix), weights=list(mix.values()))[0]


class SimulatorProvider(Provider):
    name = "simulator"
    catalog = "twilio"

    def send(self, *, credentials: Mapping[str, str], outgoing: Outgoing) -> SendResult:
        outcome = outcome_for(outgoing.to, outgoing.message_uuid)
        if outcome == "unavailable":
            raise ProviderUnavailable("simulated timeout")
        if outcome in SYNC_ERRORS:
            code = SYNC_ERRORS[outcome]
            return SendResult(
                status=Status.FAILED, error_code=code, payload={"code": code}
            )
        sid = f"SM{uuid.uuid4().hex}"
        receipts = self._receipts(sid, outgoing, outcome)
        from messaging.tasks import simulate_receipts_task

        delay = settings.SIMULATOR_RECEIPT_DELAY
        transaction.on_commit(
            lambda: simulate_receipts_task.apply_async(args=[receipts], countdown=delay)
        )
        return SendResult(
            status=Status.SENT, provider_message_id=sid, provider_status="queued"
        )

    def _receipts(
        self, sid: str, outgoing: Outgoing, outcome: str
    ) -> list[dict[str, str]]:
        """Twilio-style callbacks for the outcome, sometimes duplicated or out of order."""
        status, code, reply = OUTCOMES[outcome]
        base = {"MessageSid": sid, "To": outgoing.to, "From": outgoing.from_number}
        receipts = [base | {"MessageStatus": "sent"}]
        if status:
            receipts.append(
                base | {"MessageStatus": status} | ({"ErrorCode": code} if code else {})
            )
        rng = random.Random(sid)
        if rng.random() < 0.1:
            receipts.append(rng.choice(receipts))  # carriers repeat themselves
        if rng.random() < 0.1:
            receipts.reverse()  # and answer out of order
        if reply:
            receipts.append(
                {
                    "MessageSid": f"SM{uuid.uuid4().hex}",
                    "From": outgoing.to,
                    "To": outgoing.from_number,
                    "Body": reply,
                    "SmsStatus": "received",
                }
            )
        return receipts

    def verify(
        self, *, credentials: Mapping[str, str], request: WebhookRequest
    ) -> bool:
        # Its receipts come from its own task, in-process; nothing over HTTP is authentic.
        return False

    def parse(self, *, request: WebhookRequest) -> Parsed:
        form = {key: values[-1] for key, values in request.form.items()}
        if "Body" in form:
            return Parsed(
                inbound=[
                    Inbound(
                        form["MessageSid"], form["From"], form["To"], form["Body"], form
                    )
                ]
            )
        status = word_status(form["MessageStatus"], self.name)
        error = None
        if form.get("ErrorCode"):
            error = error_get(
                provider=self.error_source, code=form["ErrorCode"], status=status
            )
        update = StatusUpdate(
            status=status,
            provider_status=form["MessageStatus"],
            error=error,
            payload=form,
        )
        return Parsed(receipts=[Receipt(self.name, form["MessageSid"], update)])
