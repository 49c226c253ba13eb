"""Publishing tasks: the database holds the work, the broker only a nudge (outbox).

Every task is published after the commit that recorded its work, and a sweep
publishes again what made no progress. So a broker that is down costs time,
never work: a failed publish fails fast and says so, and the sweep catches up
once the broker is back.
"""

import logging
from functools import partial

from celery import Task
from kombu.exceptions import OperationalError

from django.db import transaction

logger = logging.getLogger(__name__)


class QueueUnavailable(Exception):
    """The task queue (broker) cannot be reached; the work is kept for its sweep."""


def task_publish(
    task: Task, *args, countdown: int = 0, queue: str | None = None
) -> None:
    """Send a task now; raise QueueUnavailable, quickly, when the broker is down.

    It goes to the queue its route names unless `queue` names another.
    """
    try:
        routing = {"queue": queue} if queue else {}
        task.apply_async(args=list(args), countdown=countdown, **routing)
    except OperationalError as exc:
        logger.warning(
            "portal.publish.unavailable", extra={"task": task.name, "error": str(exc)}
        )
        raise QueueUnavailable(str(exc)) from exc


def _publish_or_leave(
    task: Task, *args, countdown: int = 0, queue: str | None = None
) -> None:
    try:
        task_publish(task, *args, countdown=countdown, queue=queue)
    except QueueUnavailable:
        pass  # logged; the work's sweep publishes it again


def task_publish_on_commit(
    task: Task, *args, countdown: int = 0, queue: str | None = None
) -> None:
    """Send a task once the transaction commits; if the broker is down, leave it to the sweep."""
    transaction.on_commit(
        partial(_publish_or_leave, task, *args, countdown=countdown, queue=queue)
    )
