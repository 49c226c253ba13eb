"""Message exports: one row per message, streamed from the database, never held whole.

COLUMNS is the one list of export columns; the SMS log screen and the API
share it, and message_billable() is the one rule for the "billable" column.
"""

import csv
from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from messaging.models import Message
from messaging.statuses import Status, bucket_of

# Rows fetched per round trip; large enough to amortise the query, small enough
# that a chunk of rows with bodies stays a few MB.
EXPORT_CHUNK_SIZE = 2000

# (CSV header, values_list field): the order of the export's columns.
_FIELDS = [
    ("message_id", "id"),
    ("message_uuid", "uuid"),
    ("campaign_id", "campaign_id"),
    ("campaign", "campaign__name"),
    ("lead_id", "lead_id"),
    ("first_name", "lead__first_name"),
    ("last_name", "lead__last_name"),
    ("phone", "phone"),
    ("direction", "direction"),
    ("body", "body"),
    ("status", "status"),
    ("provider", "provider"),
    ("provider_status", "provider_status"),
    ("error_code", "error__code"),
    ("error_title", "error__title"),
    ("error_meaning", "error__meaning"),
    ("error_resolution", "error__resolution"),
    ("error_billable", "error__billable"),
    ("billed", "billed"),
    ("segments", "segments"),
    ("queued_at", "created_at"),
    ("sent_at", "sent_at"),
    ("final_at", "final_at"),
]
_QUERY_FIELDS = [field for _, field in _FIELDS]
_INDEX = {field: i for i, field in enumerate(_QUERY_FIELDS)}

COLUMNS: list[str] = [
    "message_id",
    "message_uuid",
    "campaign_id",
    "campaign",
    "lead_id",
    "lead_name",
    "phone",
    "direction",
    "body",
    "status",
    "bucket",
    "provider",
    "provider_status",
    "error_code",
    "error_title",
    "error_meaning",
    "error_resolution",
    "billable",
    "segments",
    "queued_at",
    "sent_at",
    "delivered_at",
    "final_at",
]


def message_billable(*, billed: bool, error_billable: bool | None) -> bool:
    """Whether the message costs credit: its error's rule if it failed, else if charged."""
    return error_billable if error_billable is not None else billed


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


def message_export_rows(queryset: QuerySet[Message]) -> Iterator[list]:
    """Yield one list per message in COLUMNS order, streaming in chunks (no model instances)."""
    i = _INDEX
    rows = queryset.order_by("pk").values_list(*_QUERY_FIELDS)
    for row in rows.iterator(chunk_size=EXPORT_CHUNK_SIZE):
        status = row[i["status"]]
        final_at = row[i["final_at"]]
        name = f"{row[i['lead__first_name']] or ''} {row[i['lead__last_name']] or ''}"
        yield [
            row[i["id"]],
            row[i["uuid"]],
            row[i["campaign_id"]] or "",
            row[i["campaign__name"]] or "",
            row[i["lead_id"]] or "",
            name.strip(),
            row[i["phone"]],
            row[i["direction"]],
            row[i["body"]],
            status,
            bucket_of(status).value,
            row[i["provider"]],
            row[i["provider_status"]],
            row[i["error__code"]] or "",
            row[i["error__title"]] or "",
            row[i["error__meaning"]] or "",
            row[i["error__resolution"]] or "",
            "yes"
            if message_billable(
                billed=row[i["billed"]], error_billable=row[i["error__billable"]]
            )
            else "no",
            row[i["segments"]],
            _iso(row[i["created_at"]]),
            _iso(row[i["sent_at"]]),
            _iso(final_at) if status == Status.DELIVERED else "",
            _iso(final_at),
        ]


class _Echo:
    """A file-like sink whose write() hands the line back (Django's streaming CSV recipe)."""

    def write(self, value: str) -> str:
        return value


def message_export_csv(queryset: QuerySet[Message]) -> Iterator[str]:
    """Yield the export as CSV text, a batch of lines at a time, header first."""
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    batch: list[str] = []
    for row in message_export_rows(queryset):
        batch.append(writer.writerow(row))
        if len(batch) >= 500:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def message_export_write(queryset: QuerySet[Message], handle) -> int:
    """Write the export to an open text file; return how many messages it holds."""
    writer = csv.writer(handle)
    writer.writerow(COLUMNS)
    count = 0
    for row in message_export_rows(queryset):
        writer.writerow(row)
        count += 1
    return count
