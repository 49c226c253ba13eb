"""Export files: a worker writes the CSV of a MessageExport under MEDIA_ROOT, with progress.

Never "stuck": any failure is recorded with its reason, and an export whose
worker vanished is failed by a periodic sweep.
"""

import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict

from messaging.exports import message_export_write
from messaging.models import Message, MessageExport
from portal.jobs import job_start, jobs_sweep
from portal.models import Account
from portal.publishing import task_publish_on_commit

logger = logging.getLogger(__name__)

# Progress is saved at most this often: each save is a commit.
EXPORT_PROGRESS_SECONDS = 1.0


class ExportNotReady(Exception):
    """The export has no file to hand out: not done yet, failed, or its file is gone."""

    def __init__(self, detail: str, *, code: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


class ExportFiltersInvalid(Exception):
    """The filters of an export do not validate; errors maps each filter to its messages."""

    def __init__(self, errors: Mapping) -> None:
        super().__init__("Invalid filters")
        self.errors = errors


def message_list_filtered(
    *, account: Account, filters: Mapping[str, list[str]]
) -> QuerySet[Message]:
    """The account's messages that the message list shows with these filters.

    Raises ExportFiltersInvalid when a filter does not validate.
    """
    from messaging.api.filters import MessageFilterSet

    filterset = MessageFilterSet(
        MultiValueDict(dict(filters)),
        queryset=Message.objects.filter(account=account),
        region=account.default_country,
    )
    if not filterset.is_valid():
        raise ExportFiltersInvalid(filterset.errors)
    return filterset.qs


def message_export_create(
    *,
    account: Account,
    filters: Mapping[str, list[str]],
    created_by: AbstractBaseUser | None = None,
) -> MessageExport:
    """Check the filters, record the export and have a worker write it after commit."""
    from messaging.tasks import export_messages_task

    message_list_filtered(account=account, filters=filters)
    with transaction.atomic():
        export = MessageExport.objects.create(
            account=account, filters=dict(filters), created_by=created_by
        )
        task_publish_on_commit(export_messages_task, export.pk)
    return export


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, SoftTimeLimitExceeded):
        return (
            "The export ran past its time limit. Export fewer messages at once "
            "(filter by campaign or date)."
        )
    if isinstance(exc, OSError):
        return f"The export file could not be written: {exc.strerror or exc}."
    if isinstance(exc, ExportFiltersInvalid):
        return f"The export's filters are not valid: {dict(exc.errors)}."
    return (
        f"The export failed unexpectedly ({type(exc).__name__}: {exc}). Start it "
        "again; if it fails again, contact support."
    )


def _save(export_id: int, **fields) -> None:
    MessageExport.objects.filter(pk=export_id).update(
        updated_at=timezone.now(), **fields
    )


def _progress(export_id: int) -> Callable[[int], None]:
    """Save rows_done at most every EXPORT_PROGRESS_SECONDS."""
    saved_at = time.monotonic()

    def progress(done: int) -> None:
        nonlocal saved_at
        if time.monotonic() - saved_at >= EXPORT_PROGRESS_SECONDS:
            _save(export_id, rows_done=done)
            saved_at = time.monotonic()

    return progress


def message_export_run(*, export_id: int) -> MessageExport:
    """Write a waiting export's file under MEDIA_ROOT, saving its progress as it goes.

    Only a waiting export is run (a second delivery of the task does nothing).
    The file appears under its final name only once complete; any failure is
    recorded with its reason and leaves no partial file.
    """
    now = timezone.now()
    if not job_start(MessageExport, export_id, now=now):
        return MessageExport.objects.get(pk=export_id)
    export = MessageExport.objects.select_related("account").get(pk=export_id)
    name = f"exports/messages-{export.pk}-{now:%Y%m%d-%H%M%S}.csv"
    path = Path(settings.MEDIA_ROOT) / name
    partial = path.with_suffix(".part")
    try:
        rows = message_list_filtered(account=export.account, filters=export.filters)
        _save(export.pk, rows_total=rows.count())
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("wb") as handle:
            done = message_export_write(rows, handle, progress=_progress(export.pk))
        os.replace(partial, path)
    except Exception as exc:  # whatever went wrong is shown, never left running
        logger.exception("messaging.export.failed", extra={"export_id": export.pk})
        partial.unlink(missing_ok=True)
        _save(
            export.pk,
            status=MessageExport.Status.FAILED,
            failure_reason=_failure_reason(exc),
            finished_at=timezone.now(),
        )
    else:
        # rows_total follows what was written: messages may arrive meanwhile.
        _save(
            export.pk,
            status=MessageExport.Status.DONE,
            file=name,
            rows_done=done,
            rows_total=done,
            finished_at=timezone.now(),
        )
    return MessageExport.objects.get(pk=export.pk)


def message_export_file_response(*, export: MessageExport) -> FileResponse:
    """The done export's file as a download; raise ExportNotReady otherwise."""
    if export.status != MessageExport.Status.DONE:
        raise ExportNotReady(
            f"The export is {export.get_status_display().lower()}, not done.",
            code="export_not_ready",
        )
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:
        raise ExportNotReady(
            "The export's file is gone; start a new export.",
            code="export_file_missing",
        ) from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"messages-export-{export.pk}.csv",
        content_type="text/csv; charset=utf-8",
    )


def message_exports_fail_stalled(*, now: datetime | None = None) -> int:
    """Fail the exports whose worker vanished or never came; publish the waiting ones again."""
    from messaging.tasks import export_messages_task

    return jobs_sweep(
        MessageExport,
        task=export_messages_task,
        stalled_reason="The export stopped making progress: its worker ended "
        "unexpectedly. Start it again.",
        never_started_reason="The export never started: no worker picked it up "
        "for half an hour (the task queue or the workers were down). Start it again.",
        now=now,
    )
