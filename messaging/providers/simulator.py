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

Every call that reaches the simulator is recorded in SIMULATOR_SEND_LOG, an
SQLite file indexed by message uuid and kept for a week (by default
var/simulator-sends.sqlite3; off when empty): the provider's own record of
what it was handed. It shows whether any message was sent twice, and it is what
the simulator looks sends up in when a worker died before storing the answer
(`sends_received`): unlike Twilio, Telnyx and Bandwidth, it can say that it
never got a message, which may then be sent again.
"""

import hashlib
import itertools
import json
import os
import random
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction

from messaging.catalog import error_get
from messaging.providers.base import (
    Inbound,
    Outgoing,
    Parsed,
    Provider,
    ProviderUnavailable,
    Receipt,
    SendResult,
    StatusUpdate,
    WebhookRequest,
)
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
# A callback as the simulator posts it: the URL it goes to and its form fields.
Callback = tuple[str, dict[str, str]]


def outcome_for(phone: str, message_uuid: str) -> str:
    """Pick the outcome: forced by a magic number, else drawn from the mix, repeatably."""
    if phone in MAGIC_NUMBERS:
        return MAGIC_NUMBERS[phone]
    mix = getattr(settings, "SIMULATOR_MIX", None) or DEFAULT_MIX
    digest = hashlib.sha256(f"{settings.SIMULATOR_SEED}:{message_uuid}".encode())
    # A point in [0, total weight) read off the hash: a seeded Random costs 10 us.
    point = int.from_bytes(digest.digest()[:8]) / 2**64 * sum(mix.values())
    for outcome, bound in zip(mix, itertools.accumulate(mix.values()), strict=True):
        if point < bound:
            return outcome
    return outcome


# The send log keeps a week: a claim is settled within minutes of its
# worker's death (STUCK_AFTER, swept every minute), and a message queued that
# long ago has expired (PORTAL_VALIDITY_HOURS), so an older send is never asked
# about. Every SEND_LOG_PRUNE_EVERY-th send deletes what is older, in index order.
SEND_LOG_KEEP = timedelta(days=7)
SEND_LOG_PRUNE_EVERY = 10_000
SEND_LOG_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS sends (id INTEGER PRIMARY KEY,"
    " message_uuid TEXT NOT NULL, reference TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX IF NOT EXISTS sends_uuid ON sends (message_uuid)",
    "CREATE INDEX IF NOT EXISTS sends_at ON sends (at)",
)
_send_logs = threading.local()


def _send_log(path: str | Path) -> sqlite3.Connection:
    """This process's and thread's connection to the send log (a forked worker opens its own)."""
    key = (os.getpid(), str(path))
    if getattr(_send_logs, "key", None) != key:
        database = sqlite3.connect(path, timeout=30, isolation_level=None)
        # WAL: workers append side by side. A commit is in the kernel's hands
        # when it returns, so a worker killed the moment after keeps it, as a
        # real provider keeps what it was handed; fsync is not needed for that.
        database.execute("PRAGMA journal_mode=WAL")
        database.execute("PRAGMA synchronous=NORMAL")
        for statement in SEND_LOG_SCHEMA:
            database.execute(statement)
        _send_logs.key, _send_logs.database = key, database
    return _send_logs.database


def send_record(message_uuid: str, reference: str) -> None:
    """Record one provider call in SIMULATOR_SEND_LOG (an SQLite file), if set."""
    path = settings.SIMULATOR_SEND_LOG
    if not path:
        return
    database = _send_log(path)
    row = database.execute(
        "INSERT INTO sends (message_uuid, reference, at) VALUES (?, ?, ?)",
        [message_uuid, reference, time.time()],
    ).lastrowid
    if row % SEND_LOG_PRUNE_EVERY == 0:
        cutoff = time.time() - SEND_LOG_KEEP.total_seconds()
        database.execute("DELETE FROM sends WHERE at < ?", [cutoff])


def sends_logged(
    path: str | Path, message_uuids: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """The references the simulator answered per message uuid, in order (none if no log).

    Only for the uuids given, found by index; every uuid when None (reports).
    """
    if not Path(path).exists():
        return {}
    database = _send_log(path)
    if message_uuids is None:
        rows = database.execute(
            "SELECT message_uuid, reference FROM sends ORDER BY id"
        ).fetchall()
    else:
        # One parameter however many uuids (SQLite limits their number).
        rows = database.execute(
            "SELECT message_uuid, reference FROM sends WHERE message_uuid IN"
            " (SELECT value FROM json_each(?)) ORDER BY id",
            [json.dumps(list(message_uuids))],
        ).fetchall()
    logged: dict[str, list[str]] = {}
    for message_uuid, reference in rows:
        logged.setdefault(message_uuid, []).append(reference)
    return logged


def sends_recorded(path: str | Path) -> Counter[str]:
    """Count the calls per message uuid in a send log."""
    return Counter({u: len(refs) for u, refs in sends_logged(path).items()})


class SimulatorProvider(Provider):
    name = "simulator"
    catalog = "twilio"

    def __init__(self) -> None:
        self._pooled: list[dict[str, str]] | None = None

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Pool the batch's callbacks into one task: one callback task per SMS costs ~1 ms."""
        self._pooled = []
        try:
            yield
        finally:
            callbacks, self._pooled = self._pooled, None
            if callbacks:
                self._deliver(callbacks)

    def send(self, *, credentials: Mapping[str, str], outgoing: Outgoing) -> SendResult:
        outcome = outcome_for(outgoing.to, outgoing.message_uuid)
        if outcome == "unavailable":
            raise ProviderUnavailable("simulated timeout")
        reference = SYNC_ERRORS.get(outcome) or f"SM{uuid.uuid4().hex}"
        send_record(outgoing.message_uuid, reference)
        return self._answer(outgoing, reference)

    def sends_received(
        self, *, credentials: Mapping[str, str], outgoing: Sequence[Outgoing]
    ) -> dict[str, SendResult] | None:
        """Look the sends up in the send log, and answer again for those it got.

        The receipts of an accepted one are sent again too: a real provider's
        callbacks come whether or not the worker that sent lived to see them.
        """
        if not settings.SIMULATOR_SEND_LOG:
            return None
        logged = sends_logged(
            settings.SIMULATOR_SEND_LOG, [one.message_uuid for one in outgoing]
        )
        return {
            one.message_uuid: self._answer(one, logged[one.message_uuid][0])
            for one in outgoing
            if one.message_uuid in logged
        }

    def _answer(self, outgoing: Outgoing, reference: str) -> SendResult:
        """The answer to a send it recorded: a refusal's code, or an id and receipts to come."""
        if not reference.startswith("SM"):
            return SendResult(
                status=Status.FAILED, error_code=reference, payload={"code": reference}
            )
        outcome = outcome_for(outgoing.to, outgoing.message_uuid)
        callbacks = self._callbacks(reference, outgoing, outcome)
        if self._pooled is None:
            self._deliver(callbacks)
        else:
            self._pooled += callbacks
        return SendResult(
            status=Status.SENT, provider_message_id=reference, provider_status="queued"
        )

    def _deliver(self, callbacks: list[Callback]) -> None:
        from messaging.tasks import simulate_callbacks_task

        delay = settings.SIMULATOR_RECEIPT_DELAY
        transaction.on_commit(
            lambda: simulate_callbacks_task.apply_async(
                args=[callbacks], countdown=delay
            )
        )

    def _callbacks(self, sid: str, outgoing: Outgoing, outcome: str) -> list[Callback]:
        """Twilio-style callbacks for the outcome, sometimes duplicated or out of order.

        Each goes where a real provider would post it: receipts to the send's
        status callback URL, a reply to its sender's URL.
        """
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
        url = outgoing.status_callback_url
        callbacks = [(url, receipt) for receipt in receipts]
        if reply:
            text = {
                "MessageSid": f"SM{uuid.uuid4().hex}",
                "From": outgoing.to,
                "To": outgoing.from_number,
                "Body": reply,
                "SmsStatus": "received",
            }
            callbacks.append((url.split("?")[0], text))
        return callbacks

    def verify(
        self, *, credentials: Mapping[str, str], request: WebhookRequest
    ) -> bool:
        # Its callbacks come from its own task (simulator_callbacks_post), in-process;
        # nothing over HTTP is authentic.
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


def simulator_callbacks_post(*, callbacks: Sequence[Callback]) -> int:
    """Record the simulator's callbacks as the webhook view records real ones; return how many.

    The status task applies them with every other provider's webhooks. A
    callback to a sender that no longer exists is lost, as a real one would be.
    """
    from messaging.webhooks import webhook_events_insert, webhook_sender_ids

    senders = webhook_sender_ids(url for url, _ in callbacks)
    rows = [
        (
            senders[url],
            url,
            urlencode(form),
            {key: [value] for key, value in form.items()},
        )
        for url, form in callbacks
        if url in senders
    ]
    webhook_events_insert(rows)
    return len(rows)
