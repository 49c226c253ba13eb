"""Lead import: read messy CSV files (any encoding, delimiter, header words) in batches.

The file is read three times, never held whole: a byte pass (binary? encoding?),
a CSV pass (parsable? how many rows?), then the import pass in batches. The
first two fail the whole file with one clear reason before anything is written.
"""

import codecs
import csv
import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from campaigns.models import Lead, LeadImport, LeadList
from messaging.models import OptOut
from portal.jobs import job_start, jobs_sweep
from portal.phones import phone_parse
from portal.publishing import task_publish_on_commit

logger = logging.getLogger(__name__)

IMPORT_BATCH_SIZE = 1000  # one existence query, one bulk insert, one progress save
MAX_ERROR_LINES = 10_000  # the stored report stays small; rows_failed keeps the count
SNIFF_BYTES = 64 * 1024
DELIMITERS = [",", ";", "\t", "|"]

# Header words after folding (lower case, letters and digits joined by "_").
PHONE_HEADERS = {
    "phone", "phone_number", "phonenumber", "phone_no", "mobile", "mobile_number",
    "mobile_phone", "mobilephone", "cell", "cell_phone", "cellphone", "cell_number",
    "number", "tel", "telephone", "msisdn", "sms", "contact_number", "whatsapp",
}  # fmt: skip
FIRST_NAME_HEADERS = {"first_name", "firstname", "first", "given_name", "forename"}
LAST_NAME_HEADERS = {"last_name", "lastname", "last", "surname", "family_name"}
NAME_HEADERS = {"name", "full_name", "fullname", "contact_name", "contact"}


class ImportUnreadable(Exception):
    """The file cannot be read as a CSV of leads at all; nothing was imported."""


@dataclass
class Layout:
    encoding: str
    delimiter: str
    phone: int
    first_name: int | None
    last_name: int | None
    full_name: int | None
    extras: dict[int, str]
    has_header: bool


def _fold(header: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", header.strip().casefold()).strip("_")


def _detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if every byte decodes, else Windows-1252."""
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
        if not head.strip():
            raise ImportUnreadable("The file is empty.")
        if b"\x00" in head or head.startswith(b"PK\x03\x04"):
            raise ImportUnreadable(
                "The file is not a CSV text file (it looks like a spreadsheet or "
                "binary file). Save it as CSV and upload it again."
            )
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        decoder = codecs.getincrementaldecoder("utf-8")()
        chunk = head
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = handle.read(1024 * 1024)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
        return "utf-8"


def _open(path: Path, encoding: str):
    # cp1252 leaves five bytes undefined; replace them rather than refuse the file.
    errors = "replace" if encoding == "cp1252" else "strict"
    return path.open(encoding=encoding, errors=errors, newline="")


def _detect_layout(path: Path, region: str) -> Layout:
    encoding = _detect_encoding(path)
    with _open(path, encoding) as handle:
        first = ""
        for line in handle:
            if line.strip():
                first = line
                break
    delimiter = max(DELIMITERS, key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    header = next(csv.reader([first], delimiter=delimiter), [])
    folded = [_fold(h) for h in header]
    phone = next((i for i, h in enumerate(folded) if h in PHONE_HEADERS), None)
    has_header = True
    if phone is None:
        # No header row: a first row holding a number is data, its column the phone.
        phone = next(
            (i for i, v in enumerate(header) if phone_parse(v, region=region).e164),
            None,
        )
        if phone is None:
            raise ImportUnreadable(
                "No phone column: name one column Phone, Mobile or phone_number. "
                f"Columns found: {', '.join(h.strip() for h in header) or 'none'}."
            )
        has_header = False

    def find(words: set[str]) -> int | None:
        if not has_header:
            return None
        return next((i for i, h in enumerate(folded) if h in words), None)

    first_name, last_name = find(FIRST_NAME_HEADERS), find(LAST_NAME_HEADERS)
    full_name = None if first_name is not None else find(NAME_HEADERS)
    known = {phone, first_name, last_name, full_name}
    extras = (
        {i: h.strip() for i, h in enumerate(header) if i not in known and h.strip()}
        if has_header
        else {}
    )
    return Layout(
        encoding, delimiter, phone, first_name, last_name, full_name, extras, has_header
    )


def _rows(path: Path, layout: Layout) -> Iterator[tuple[int, list[str]]]:
    """Yield (row number in the file, cells) for every non-blank data row."""
    with _open(path, layout.encoding) as handle:
        reader = csv.reader(handle, delimiter=layout.delimiter)
        header_seen = not layout.has_header
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if not header_seen:
                header_seen = True
                continue
            yield reader.line_num, cells


def lead_import_count_rows(*, path: Path, region: str) -> tuple[Layout, int]:
    """Check the whole file parses as CSV and count its data rows; raise ImportUnreadable."""
    layout = _detect_layout(path, region)
    try:
        total = sum(1 for _ in _rows(path, layout))
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ImportUnreadable(f"The file is not a readable CSV: {exc}.") from exc
    return layout, total


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _lead_data(cells: list[str], layout: Layout) -> dict:
    first, last = _cell(cells, layout.first_name), _cell(cells, layout.last_name)
    if layout.full_name is not None:
        first, _, last = _cell(cells, layout.full_name).partition(" ")
    fields = {
        name: cells[i].strip()
        for i, name in layout.extras.items()
        if i < len(cells) and cells[i].strip()
    }
    return {
        "first_name": first[:100],
        "last_name": last.strip()[:100],
        "fields": fields,
    }


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
        imp.status, imp.failure_reason = LeadImport.Status.FAILED, _failure_reason(exc)
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


def _import_file(imp: LeadImport, progress: Callable[[int, int], None] | None) -> None:
    region = imp.account.default_country
    path = Path(imp.source_path)
    layout, imp.rows_total = lead_import_count_rows(path=path, region=region)
    imp.save(update_fields=["rows_total", "updated_at"])

    def report(errors: list[dict]) -> None:
        imp.rows_failed += len(errors)
        room = MAX_ERROR_LINES - len(imp.errors)
        imp.errors.extend(sorted(errors, key=lambda e: e["row"])[: max(room, 0)])

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

    for row, cells in _rows(path, layout):
        if layout.phone >= len(cells):
            bad.append({"row": row, "value": "", "reason": "missing phone column"})
        else:
            value = cells[layout.phone].strip()
            parsed = phone_parse(value, region=region)
            if parsed.reason:
                bad.append({"row": row, "value": value, "reason": parsed.reason})
            else:
                batch.append((row, value, parsed.e164, _lead_data(cells, layout)))
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
