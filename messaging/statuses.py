"""The one status machine: canonical statuses, their order, buckets, and every word for them.

No other module re-states any of this; screens, the API, exports, providers and
the catalog all ask here (ARCHITECTURE.md section 2).
"""

from collections.abc import Iterable

from django.db import models


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    # Not just "Sent": on every screen "Sent" is the dashboard column of
    # delivered messages (aNinja's word), so this status names where it is.
    SENT = "sent", "Sent to carrier"
    UNKNOWN = "unknown", "Delivery unknown"
    DELIVERED = "delivered", "Delivered"
    UNDELIVERED = "undelivered", "Undelivered"
    FAILED = "failed", "Failed"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"
    CANCELED = "canceled", "Canceled"
    RECEIVED = "received", "Received"  # inbound messages only


class Bucket(models.TextChoices):
    """The dashboard's stat columns (aNinja's words)."""

    IN_QUEUE = "in_queue", "In-queue"
    OUTBOX = "outbox", "Outbox"
    SENT = "sent", "Sent"
    ERROR = "error", "Error"
    UNKNOWN = "unknown", "Delivery unknown"
    CANCELED = "canceled", "Canceled"
    RECEIVED = "received", "Received"
    DELETED_LEADS = "deleted_leads", "Deleted leads"  # counts leads, not statuses


FINAL: frozenset[str] = frozenset(
    {
        Status.DELIVERED,
        Status.UNDELIVERED,
        Status.FAILED,
        Status.REJECTED,
        Status.EXPIRED,
        Status.CANCELED,
        Status.RECEIVED,
    }
)

# queued < sending < sent < unknown < final. A move to a lower or equal rank is
# recorded and otherwise ignored; among finals the first one wins.
RANK: dict[str, int] = {
    Status.QUEUED: 0,
    Status.SENDING: 1,
    Status.SENT: 2,
    Status.UNKNOWN: 3,
    **{status: 4 for status in FINAL},
}

BUCKET: dict[str, Bucket] = {
    Status.QUEUED: Bucket.IN_QUEUE,
    Status.SENDING: Bucket.IN_QUEUE,
    Status.SENT: Bucket.OUTBOX,
    Status.DELIVERED: Bucket.SENT,
    Status.UNDELIVERED: Bucket.ERROR,
    Status.FAILED: Bucket.ERROR,
    Status.REJECTED: Bucket.ERROR,
    Status.EXPIRED: Bucket.ERROR,
    Status.UNKNOWN: Bucket.UNKNOWN,
    Status.CANCELED: Bucket.CANCELED,
    Status.RECEIVED: Bucket.RECEIVED,
}

BUCKET_MEANING: dict[Bucket, str] = {
    Bucket.IN_QUEUE: "Waiting to be sent.",
    Bucket.OUTBOX: "Handed to the carrier, awaiting response from the "
    "destination carrier.",
    Bucket.SENT: "Delivered: the carrier confirmed the phone received it.",
    Bucket.ERROR: "Not delivered. Each error says why and what to do.",
    Bucket.UNKNOWN: "Handed to the carrier, but it never confirmed delivery "
    "after the wait. Most such messages did arrive.",
    Bucket.CANCELED: "Not sent because the campaign was canceled.",
    Bucket.RECEIVED: "Texts people sent to you.",
    Bucket.DELETED_LEADS: "Leads that were part of the campaign when it was "
    "launched and have been deleted since. Leads deleted before the launch "
    "are not counted. Their messages stay in the other columns.",
}

STATUS_MEANING: dict[Status, str] = {
    Status.QUEUED: "Created and waiting to be handed to the provider.",
    Status.SENDING: "Being handed to the provider right now.",
    Status.SENT: "Accepted by the provider and passed towards the carrier; "
    "no delivery receipt yet.",
    Status.UNKNOWN: "Handed to the carrier, but no delivery receipt arrived "
    "within the wait. "
    "A late receipt can still settle it.",
    Status.DELIVERED: "The carrier confirmed the phone received it.",
    Status.UNDELIVERED: "The carrier reported that it could not deliver it.",
    Status.FAILED: "The provider refused it; it never left for the carrier.",
    Status.REJECTED: "The portal did not send it (invalid number, opted out, "
    "suppressed or no credit). Never billed.",
    Status.EXPIRED: "It waited in the queue longer than its validity period "
    "and was not sent.",
    Status.CANCELED: "Its campaign was canceled before it was sent.",
    Status.RECEIVED: "A text the person sent to you.",
}

# Every word a seed document or a provider uses, case-folded. The entry for
# None holds the words as the seeds use them when no product is named; a
# product's own meaning for a shared word ("Sent" in aNinja's stats) sits
# under that product.
WORDS: dict[str | None, dict[str, Status]] = {
    None: {
        "queued": Status.QUEUED,
        "queuing": Status.QUEUED,  # Connection Card Pro
        "in-queue": Status.QUEUED,  # aNinja
        "in queue": Status.QUEUED,
        "in progress": Status.QUEUED,  # smsmode: "SMS being processed"
        "being processed": Status.QUEUED,
        "pending": Status.QUEUED,
        "sending": Status.SENDING,
        "sent": Status.SENT,  # Spoke, 004, smsmode
        "outbox": Status.SENT,  # aNinja
        "delivered to operator": Status.SENT,  # smsmode
        "delivered": Status.DELIVERED,
        "received": Status.DELIVERED,  # smsmode: confirmed on the handset
        "delivery unknown": Status.UNKNOWN,  # aNinja
        "status unavailable": Status.UNKNOWN,  # Connection Card Pro
        "undefined": Status.UNKNOWN,  # smsmode
        "unknown": Status.UNKNOWN,
        "failed/undelivered": Status.UNDELIVERED,  # Connection Card Pro
        "undelivered": Status.UNDELIVERED,
        "error": Status.UNDELIVERED,  # Spoke's ERROR, aNinja's Error column
        "failed": Status.FAILED,
        "rejected": Status.REJECTED,
        "expired": Status.EXPIRED,
        "canceled": Status.CANCELED,
        "cancelled": Status.CANCELED,
    },
    "aninja": {"sent": Status.DELIVERED, "outbox": Status.SENT},
    "twilio": {
        # Twilio's own queue is past the portal's hand-off: the message is
        # with the provider, so it is "sent" in our terms (courier does the same).
        "accepted": Status.SENT,
        "scheduled": Status.SENT,
        "queued": Status.SENT,
        "sending": Status.SENT,
        "sent": Status.SENT,
        "delivered": Status.DELIVERED,
        "read": Status.DELIVERED,
        "partially_delivered": Status.DELIVERED,
        "undelivered": Status.UNDELIVERED,
        "failed": Status.FAILED,
        "canceled": Status.CANCELED,
        "receiving": Status.RECEIVED,
        "received": Status.RECEIVED,
    },
    "telnyx": {
        "queued": Status.SENT,
        "sending": Status.SENT,
        "scheduled": Status.SENT,
        "sent": Status.SENT,
        "message.sent": Status.SENT,
        "delivered": Status.DELIVERED,
        "delivery_failed": Status.UNDELIVERED,
        "sending_failed": Status.FAILED,
        "delivery_unconfirmed": Status.UNKNOWN,
        "expired": Status.EXPIRED,
        "cancelled": Status.CANCELED,
        "webhook_delivered": Status.RECEIVED,
        "message.received": Status.RECEIVED,
    },
    "bandwidth": {
        "message-sending": Status.SENT,
        "message-sent": Status.SENT,
        "message-delivered": Status.DELIVERED,
        "message-read": Status.DELIVERED,
        "message-failed": Status.UNDELIVERED,
        "message-received": Status.RECEIVED,
    },
    "smpp": {
        "enroute": Status.SENT,
        "accepted": Status.SENT,
        "acceptd": Status.SENT,
        "delivrd": Status.DELIVERED,
        "undeliv": Status.UNDELIVERED,
        "rejectd": Status.FAILED,
        "deleted": Status.FAILED,
        "expired": Status.EXPIRED,
        "unknown": Status.UNKNOWN,
    },
}
WORDS["simulator"] = WORDS["twilio"]  # the simulator speaks Twilio's words


def word_status(word: str, provider: str | None = None) -> Status | None:
    """Return the canonical status for a provider's or seed's status word, if any."""
    key = word.strip().casefold()
    if provider and key in WORDS.get(provider, {}):
        return WORDS[provider][key]
    return WORDS[None].get(key)


def is_final(status: str) -> bool:
    return status in FINAL


def bucket_of(status: str) -> Bucket:
    return BUCKET[status]


def statuses_in(bucket: str) -> list[str]:
    """Return the statuses a bucket counts, in machine order."""
    return [status for status in Status.values if BUCKET[status] == bucket]


def can_move(current: str, incoming: str) -> bool:
    """Say whether a receipt or sweep may move a message from current to incoming."""
    return current not in FINAL and RANK[incoming] > RANK[current]


def sources_for(incoming: str) -> list[str]:
    """Return the statuses from which incoming may be applied (the guard of the UPDATE)."""
    return [status for status in Status.values if can_move(status, incoming)]


def rollup(counts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Fold (status, count) pairs into counts per bucket, every bucket present."""
    totals = {bucket.value: 0 for bucket in Bucket}
    for status, count in counts:
        totals[BUCKET[status]] += count
    return totals
