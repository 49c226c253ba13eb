"""Lead import: apply a file's rows in batches, with progress and a report of the bad rows.

The file is read (campaigns/import_files.py) twice, never held whole: a pass
that finds its layout and counts its rows, failing the whole file with one
clear reason before anything is written, then the import pass in batches.
"""

import logging
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from campaigns.import_files import ImportUnreadable, lead_import_count_rows, lead_rows
from campaigns.models import Lead, LeadImport, LeadList
from messaging.models import OptOut
from portal.jobs import job_start, jobs_sweep
from portal.publishing import task_publish_on_commit

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 1000  # one existence query, one bulk insert, one progress save
MAX_ERROR_LINES = 10_000  # the stored report stays small; rows_failed keeps the count


def _import_batch(
    imp: LeadImport, batch: list[tuple[int, str, str, dict]]
) -> list[dict]:
    """Write one batch of parsed rows; return its error lines (duplicates, opt-outs)."""
    errors = []
    by_phone: dict[str, tuple[int, str, dict]] = {}
    for row, value, phone, data in batch:
        if phone in by_phone:
            reason = f"duplicate of row {by_phone[phone][0]}"
            errors.append({"row": row, "value": value, "reason": reason})
        else:
            by_phone[phone] = (row, value, data)
    opted_out = set(
        OptOut.objects.filter(
            account_id=imp.account_id, phone__in=by_phone
        ).values_list("phone", flat=True)
    )
    for phone in sorted(opted_out):
        row, value, _ = by_phone.pop(phone)
        errors.append({"row": row, "value": value, "reason": "opted out"})
    existing = {
        lead.phone: lead
        for lead in Lead.objects.filter(account_id=imp.account_id, phone__in=by_phone)
    }
    now = timezone.now()
    updates = []
    for phone, lead in existing.items():
        row, value, data = by_phone[phone]
        if lead.last_import_id == imp.pk:
            by_phone.pop(phone)
            errors.append(
                {"row": row, "value": value, "reason": "duplicate of an earlier row"}
            )
            continue
        lead.first_name = data["first_name"] or lead.first_name
        lead.last_name = data["last_name"] or lead.last_name
        lead.fields = {**lead.fields, **data["fields"]}
        lead.deleted_at = None  # importing a deleted lead again brings it back
        lead.last_import_id = imp.pk
        lead.checked_phone = phone  # phone_parse found it valid
        lead.updated_at = now
        updates.append(lead)
    Lead.objects.bulk_update(
        updates,
        [
            "first_name",
            "last_name",
            "fields",
            "deleted_at",
            "last_import",
            "checked_phone",
            "updated_at",
        ],
    )
    new = [
        Lead(
            account_id=imp.account_id,
            phone=phone,
            checked_phone=phone,
            last_import_id=imp.pk,
            **data,
        )
        for phone, (_, _, data) in by_phone.items()
        if phone not in existing
    ]
    # ignore_conflicts: a lead added at the same moment by someone else is kept.
    Lead.objects.bulk_create(new, ignore_conflicts=True)
    if imp.lead_list_id and by_phone:
        ids = Lead.objects.filter(
            account_id=imp.account_id, phone__in=by_phone
        ).values_list("pk", flat=True)
        through = Lead.lists.through
        through.objects.bulk_create(
            [through(lead_id=pk, leadlist_id=imp.lead_list_id) for pk in ids],
            ignore_conflicts=True,
        )
    imp.rows_imported += len(by_phone)
    imp.rows_created += len(new)
    return errors


def lead_import_run(
    *, import_id: int, progress: Callable[[int, int], None] | None = None
) -> LeadImport:
    """Import a waiting LeadImport's file; record progress, counts and the bad rows' report.

    Only a waiting import runs: a second delivery of its task does nothing.
    Whatever goes wrong ends the import as failed, with its reason.
    """
    if not job_start(LeadImport, import_id, now=timezone.now()):
        return LeadImport.objects.get(pk=import_id)
    imp = LeadImport.objects.select_related("account").get(pk=import_id)
    try:
        _import_file(imp, progress)
    except Exception as exc:  # whatever went wrong is shown, never left running
        logger.exception("campaigns.import.failed", extra={"import_id": imp.pk})
        reason = _storable(_failure_reason(exc))
        imp.status, imp.failure_reason = LeadImport.Status.FAILED, reason
        imp.finished_at = timezone.now()
        imp.save(
            update_fields=["status", "failure_reason", "finished_at", "updated_at"]
        )
    return imp


def _storable(text: str) -> str:
    """Show a NUL byte quoted from the file as a visible sign; PostgreSQL stores no NUL."""
    return text.replace("\x00", "\u2400")


def _failure_reason(exc: Exception) -> str:
    if isinstance(exc, (ImportUnreadable, OSError)):
        return str(exc)
    kept = "Rows already imported are kept, and importing them again adds no copies."
    if isinstance(exc, SoftTimeLimitExceeded):
        return f"The import ran past its time limit of an hour. Split the file. {kept}"
    return (
        f"The import failed unexpectedly ({type(exc).__name__}: {exc}). Upload "
        f"the file again; if it fails again, contact support. {kept}"
    )


def _import_file(imp: LeadImport, progress: Callable[[int, int], None] | None) -> None:
    region = imp.account.default_country
    path = Path(imp.source_path)
    layout, imp.rows_total = lead_import_count_rows(path=path, region=region)
    imp.save(update_fields=["rows_total", "updated_at"])

    def report(errors: list[dict]) -> None:
        imp.rows_failed += len(errors)
        room = MAX_ERROR_LINES - len(imp.errors)
        kept = sorted(errors, key=lambda e: e["row"])[: max(room, 0)]
        imp.errors.extend({**e, "value": _storable(e["value"])} for e in kept)

    batch: list[tuple[int, str, str, dict]] = []
    bad: list[dict] = []

    def flush() -> None:
        with transaction.atomic():
            report(bad + _import_batch(imp, batch))
            imp.rows_done += len(batch) + len(bad)
            imp.save(update_fields=[
                "rows_done", "rows_imported", "rows_created", "rows_failed", "errors",
                "updated_at",
            ])  # fmt: skip
        batch.clear()
        bad.clear()
        if progress:
            progress(imp.rows_done, imp.rows_total)

    for row in lead_rows(path, layout, region):
        if row.error:
            bad.append({"row": row.number, "value": row.value, "reason": row.error})
        else:
            batch.append((row.number, row.value, row.phone, row.data))
        if len(batch) + len(bad) >= IMPORT_BATCH_SIZE:
            flush()
    flush()
    imp.status, imp.finished_at = LeadImport.Status.DONE, timezone.now()
    imp.save(update_fields=["status", "finished_at", "updated_at"])


def lead_imports_fail_stalled(*, now: datetime | None = None) -> int:
    """Fail the imports whose worker vanished or never came; publish the waiting ones again."""
    from campaigns.tasks import import_leads_task

    kept = (
        "Upload the file again; rows already imported are kept, and importing "
        "them again adds no copies."
    )
    return jobs_sweep(
        LeadImport,
        task=import_leads_task,
        stalled_reason="The import stopped making progress: its worker ended "
        f"unexpectedly. {kept}",
        never_started_reason="The import never started: no worker picked it up "
        f"for half an hour (the task queue or the workers were down). {kept}",
        now=now,
    )


def lead_import_create(
    *,
    account_id: int,
    source_path: str,
    filename: str = "",
    list_name: str = "",
    created_by=None,
) -> LeadImport:
    """Record an import of a file already saved on disk, targeting a list (made if new)."""
    lead_list = None
    if list_name:
        lead_list, _ = LeadList.objects.get_or_create(
            account_id=account_id, name=list_name.strip()
        )
    return LeadImport.objects.create(
        account_id=account_id,
        lead_list=lead_list,
        source_path=source_path,
        filename=filename,
        created_by=created_by,
    )


def lead_import_save_upload(chunks: Iterable[bytes]) -> Path:
    """Store an uploaded file under VAR_DIR/imports for the worker; return its path."""
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    with path.open("wb") as handle:
        for chunk in chunks:
            handle.write(chunk)
    return path


def lead_import_upload(
    *,
    account_id: int,
    upload: UploadedFile,
    list_name: str = "",
    created_by: AbstractBaseUser | None = None,
    in_background: bool,
) -> LeadImport:
    """Save an uploaded CSV and import it: now, or by a worker once the request commits."""
    from campaigns.tasks import import_leads_task

    imp = lead_import_create(
        account_id=account_id,
        source_path=str(lead_import_save_upload(upload.chunks())),
        filename=(upload.name or "")[:255],
        list_name=list_name,
        created_by=created_by,
    )
    if in_background:
        task_publish_on_commit(import_leads_task, imp.pk)
        return imp
    return lead_import_run(import_id=imp.pk)
