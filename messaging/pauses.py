"""A paused campaign's queued messages, held back from the providers set-based, without the claim.

A held message stays queued with its next attempt at HELD_UNTIL: the claim
and the requeue sweep already leave a message alone until its next attempt
(messaging/dispatch.py), so pausing needs no change to either. Unlike the
claim's holds (messaging/holds.py: quiet hours, daily limits, with a known
release time), a pause has no end, so its validity keeps running: a held
message still queued when it ends is expired by the expire sweep. A
message a claim held for quiet hours and then paused is checked again by
the claim once resumed.
"""

from datetime import UTC, datetime

from django.utils import timezone

from messaging.dispatch import messages_enqueue
from messaging.models import Message
from messaging.statuses import Status
from portal.bulk import chunked

# Far past any expiry: "not before it is released".
HELD_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)
RELEASE_BATCH_SIZE = 5000  # ids per UPDATE (SQLite's limit on parameters)


def campaign_messages_hold(*, campaign_id: int) -> int:
    """Hold the campaign's queued messages; return how many."""
    return Message.objects.filter(campaign_id=campaign_id, status=Status.QUEUED).update(
        next_attempt_at=HELD_UNTIL, updated_at=timezone.now()
    )


def campaign_messages_release(*, campaign_id: int) -> int:
    """Release the campaign's held messages and hand them to dispatch; return how many."""
    held = Message.objects.filter(
        campaign_id=campaign_id, status=Status.QUEUED, next_attempt_at=HELD_UNTIL
    )
    ids = list(held.values_list("pk", flat=True))
    for batch in chunked(ids, RELEASE_BATCH_SIZE):
        Message.objects.filter(pk__in=batch, next_attempt_at=HELD_UNTIL).update(
            next_attempt_at=None, updated_at=timezone.now()
        )
    messages_enqueue(message_ids=ids)
    return len(ids)


def campaign_messages_held(*, campaign_id: int) -> int:
    """How many of the campaign's messages are held now."""
    return Message.objects.filter(
        campaign_id=campaign_id, status=Status.QUEUED, next_attempt_at=HELD_UNTIL
    ).count()
