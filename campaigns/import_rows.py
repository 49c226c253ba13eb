"""Apply a lead file's rows to the account's leads in batches: counts, progress, bad rows.

The file is read (campaigns/import_files.py) twice, never held whole: a pass
that finds its layout and counts its rows, failing the whole file with one
clear reason before anything is written, then the import pass in batches.
"""

from collections.abc import Callable
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from campaigns.import_files import lead_import_count_rows, lead_rows
from campaigns.models import Lead, LeadImport
from messaging.models import OptOut

IMPORT_BATCH_SIZE = 1000  # one existence query, one bulk insert, one progress save
MAX_ERROR_LINES = 10_000  # the stored report stays small; rows_failed keeps the count


def lead_import_batch(
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


def storable(text: str) -> str:
    """Show a NUL byte quoted from the file as a visible sign; PostgreSQL stores no NUL."""
    return text.replace("\x00", "\u2400")


def lead_import_apply(
    imp: LeadImport, progress: Callable[[int, int], None] | None
) -> None:
    """Count the file's rows, then apply them in batches, each saved with the progress."""
    region = imp.account.default_country
    path = Path(imp.source_path)
    layout, imp.rows_total = lead_import_count_rows(path=path, region=region)
    imp.save(update_fields=["rows_total", "updated_at"])

    def report(errors: list[dict]) -> None:
        imp.rows_failed += len(errors)
        room = MAX_ERROR_LINES - len(imp.errors)
        kept = sorted(errors, key=lambda e: e["row"])[: max(room, 0)]
        imp.errors.extend({**e, "value": storable(e["value"])} for e in kept)

    batch: list[tuple[int, str, str, dict]] = []
    bad: list[dict] = []

    def flush() -> None:
        with transaction.atomic():
            report(bad + lead_import_batch(imp, batch))
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
