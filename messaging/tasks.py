"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

# Time limits: a send batch paces itself within 120 s (SEND_WINDOW_SECONDS in
# dispatch.py); the rest allows for slow providers.
LIMITS = {"soft_time_limit": 240, "time_limit": 300}


@shared_task(name="messaging.send_message_batch", acks_late=True, **LIMITS)
def send_message_batch_task(message_ids: list[int]) -> int:
    """Send the still-queued messages among message_ids (claims make a re-run harmless)."""
    from messaging.dispatch import messages_send

    return messages_send(message_ids=message_ids)


@shared_task(name="messaging.apply_status_batch", acks_late=True, **LIMITS)
def apply_status_batch_task() -> int:
    """Apply a batch of recorded webhooks; a full batch means more are waiting: go again.

    Beat starts it every second; claims skip locked rows, so runs side by side
    share the backlog and a re-run after a lost worker repeats nothing.
    """
    from messaging.ingest import WEBHOOK_BATCH_SIZE, webhook_events_apply

    taken = webhook_events_apply(limit=WEBHOOK_BATCH_SIZE)
    if taken == WEBHOOK_BATCH_SIZE:
        apply_status_batch_task.delay()
    return taken


@shared_task(name="messaging.simulate_callbacks", **LIMITS)
def simulate_callbacks_task(callbacks: list[tuple[str, dict[str, str]]]) -> int:
    """Post the simulator's Twilio-style callbacks, then apply them without waiting for beat."""
    from messaging.providers.simulator import simulator_callbacks_post

    posted = simulator_callbacks_post(callbacks=callbacks)
    apply_status_batch_task.delay()
    return posted


@shared_task(name="messaging.expire_messages", **LIMITS)
def expire_messages_task() -> int:
    """Expire messages queued past their validity period."""
    from messaging.sweeps import messages_expire

    return messages_expire()


@shared_task(name="messaging.mark_unknown", **LIMITS)
def mark_unknown_task() -> int:
    """Mark sent messages with no receipt after the wait as unknown."""
    from messaging.sweeps import messages_mark_unknown

    return messages_mark_unknown()


@shared_task(name="messaging.release_stuck", **LIMITS)
def release_stuck_task() -> int:
    """Settle messages a dead worker left in sending."""
    from messaging.dispatch import messages_release_stuck

    return messages_release_stuck()


@shared_task(name="messaging.requeue_due", **LIMITS)
def requeue_due_task() -> int:
    """Enqueue queued messages whose retry is due or whose task was lost."""
    from messaging.dispatch import messages_requeue_due

    return messages_requeue_due()


# A million rows take well under a minute; an hour leaves room for tens of millions.
@shared_task(name="messaging.export_messages", soft_time_limit=3600, time_limit=3660)
def export_messages_task(export_id: int) -> None:
    """Write an export's CSV file; an export already run or failed is left as it is."""
    from messaging.export_jobs import message_export_run

    message_export_run(export_id=export_id)


@shared_task(name="messaging.fail_stalled_exports", **LIMITS)
def fail_stalled_exports_task() -> int:
    """Fail exports whose worker vanished or never came; publish the waiting ones again."""
    from messaging.export_jobs import message_exports_fail_stalled

    return message_exports_fail_stalled()


@shared_task(name="messaging.squash_counts", **LIMITS)
def squash_message_counts_task() -> int:
    """Fold the dashboards' count rows; sums stay exact meanwhile, just slower to read."""
    from messaging.counts import message_counts_squash

    return message_counts_squash()
