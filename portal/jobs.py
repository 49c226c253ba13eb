"""Jobs (message exports, lead imports): run once, never lost with the broker or left running."""

from datetime import datetime, timedelta

from celery import Task

from django.db import transaction
from django.utils import timezone

from portal.models import Job
from portal.publishing import task_publish_on_commit

# A job whose progress has not moved for this long lost its worker (a running
# one saves progress every second or every batch).
JOB_STALLED_AFTER = timedelta(minutes=30)
# A job still waiting this long after it was made, or last published, most
# likely lost its task (the broker was down): publish it again. job_start
# makes a duplicate delivery do nothing.
JOB_REPUBLISH_AFTER = timedelta(minutes=2)


def job_start(model: type[Job], job_id: int, *, now: datetime) -> bool:
    """Move a waiting job to running; False when it is not waiting.

    A second delivery of the job's task then does nothing instead of running it
    again beside the first.
    """
    return bool(
        model.objects.filter(pk=job_id, status=model.Status.PENDING).update(
            status=model.Status.RUNNING, started_at=now, updated_at=now
        )
    )


def jobs_sweep(
    model: type[Job],
    *,
    task: Task,
    stalled_reason: str,
    never_started_reason: str,
    now: datetime | None = None,
) -> int:
    """Publish waiting jobs again; fail, each with its reason, those that cannot go on.

    A running job that stopped making progress lost its worker; a job that no
    worker started for JOB_STALLED_AFTER never will. Returns how many failed.
    """
    now = now or timezone.now()
    failed = model.objects.filter(
        status=model.Status.RUNNING, updated_at__lt=now - JOB_STALLED_AFTER
    ).update(
        status=model.Status.FAILED,
        failure_reason=stalled_reason,
        finished_at=now,
        updated_at=now,
    )
    failed += model.objects.filter(
        status=model.Status.PENDING, created_at__lt=now - JOB_STALLED_AFTER
    ).update(
        status=model.Status.FAILED,
        failure_reason=never_started_reason,
        finished_at=now,
        updated_at=now,
    )
    with transaction.atomic():
        waiting = list(
            model.objects.filter(
                status=model.Status.PENDING,
                updated_at__lt=now - JOB_REPUBLISH_AFTER,
            ).values_list("pk", flat=True)
        )
        model.objects.filter(pk__in=waiting).update(updated_at=now)
        for job_id in waiting:
            task_publish_on_commit(task, job_id)
    return failed
