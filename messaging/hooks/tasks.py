"""Celery tasks of outbound webhooks (default queue): they take ids and call one service."""

from celery import shared_task


@shared_task(name="hooks.deliver", soft_time_limit=120, time_limit=150)
def hook_deliver_task(endpoint_id: int) -> int:
    """Send an endpoint's waiting events; the endpoint lease makes a duplicate harmless."""
    from messaging.hooks.delivery import hook_endpoint_deliver

    return hook_endpoint_deliver(endpoint_id=endpoint_id)


@shared_task(name="hooks.deliver_due", soft_time_limit=60, time_limit=90)
def hook_deliver_due_task() -> int:
    """Publish deliveries whose retry is due or whose nudge was lost."""
    from messaging.hooks.delivery import hook_deliveries_due

    return hook_deliveries_due()
