"""Lead import jobs: an uploaded file recorded, run now or by a worker, failed in words.

The file is read by campaigns/import_files.py and its rows applied to the
leads by campaigns/import_rows.py.
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
from django.utils import timezone

from campaigns.import_files import ImportUnreadable
from campaigns.import_rows import lead_import_apply, storable
from campaigns.models import LeadImport, LeadList
from portal.jobs import job_start, jobs_sweep
from portal.publishing import task_publish_on_commit

logger = logging.getLogger(__name__)


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
        lead_import_apply(imp, progress)
    except Exception as exc:  # whatever went wrong is shown, never left running
        logger.exception("campaigns.import.failed", extra={"import_id": imp.pk})
        reason = storable(_failure_reason(exc))
        imp.status, imp.failure_reason = LeadImport.Status.FAILED, reason
        imp.finished_at = timezone.now()
        imp.save(
            update_fields=["status", "failure_reason", "finished_at", "updated_at"]
        )
    return imp


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
