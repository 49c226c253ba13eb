"""Jobs (message exports, lead imports): run once, and never left running by a lost worker."""

from datetime import datetime, timedelta

from django.utils import timezone

from portal.models import Job

# A job whose progress has not moved for this long lost its worker (a running
# one saves progress every second or every batch).
JOB_STALLED_AFTER = timedelta(minutes=30)


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


def jobs_fail_stalled(
    model: type[Job], *, reason: str, now: datetime | None = None
) -> int:
    """Fail, with the reason given, the jobs that stopped making progress."""
    now = now or timezone.now()
    return model.objects.filter(
        status__in=[model.Status.PENDING, model.Status.RUNNING],
        updated_at__lt=now - JOB_STALLED_AFTER,
    ).update(
        status=model.Status.FAILED,
        failure_reason=reason,
        finished_at=now,
        updated_at=now,
    )
