"""Celery tasks: thin wrappers that take ids and call one service."""

from celery import shared_task

# Time limits: a batch of 100 paced at 10/s takes 10 s; allow for slow providers.
LIMITS = {"soft_time_limit": 240, "time_limit": 300}


@shared_task(name="messaging.send_message_batch", acks_late=True, **LIMITS)
def send_message_batch_task(message_ids: list[int]) -> int:
    """Send the still-queued messages among message_ids (claims make a re-run harmless)."""
    from messaging.dispatch import messages_send

    return messages_send(message_ids=message_ids)


@shared_task(name="messaging.simulate_receipts", **LIMITS)
def simulate_receipts_task(payloads: list[dict[str, str]]) -> int:
    """Feed the simulator's Twilio-style callbacks through the receipt path."""
    from messaging.ingest import webhook_ingest
    from messaging.providers import provider_for
    from messaging.providers.base import WebhookRequest

    provider = provider_for("simulator")
    applied = 0
    for payload in payloads:
        form = {key: [value] for key, value in payload.items()}
        request = WebhookRequest(url="", headers={}, body=b"", form=form)
        applied += webhook_ingest(
            provider=provider, parsed=provider.parse(request=request)
        )
    return applied


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
