"""The error catalog: errors.csv beside this file is the source, the ErrorCode table its copy."""

import csv
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from django.db import transaction

from messaging.models import ErrorCode
from messaging.statuses import Status

CATALOG_PATH = Path(__file__).with_name("errors.csv")
COLUMNS = [
    "provider",
    "code",
    "title",
    "aliases",
    "meaning",
    "resolution",
    "category",
    "temporary",
    "billable",
    "number_advice",
    "status",
]
UPDATE_FIELDS = [column for column in COLUMNS if column not in ("provider", "code")]
# Entries already looked up while a batch of receipts is parsed (errors_cached).
_looked_up: ContextVar[dict[tuple[str, str], ErrorCode] | None] = ContextVar(
    "looked_up", default=None
)


def catalog_rows(path: Path = CATALOG_PATH) -> list[dict[str, Any]]:
    """Read the catalog file into field dicts, failing loudly on a malformed row."""
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise ValueError(
                f"{path.name}: expected columns {COLUMNS}, got {reader.fieldnames}"
            )
        rows = []
        for line, row in enumerate(reader, start=2):
            for flag in ("temporary", "billable"):
                if row[flag] not in ("yes", "no"):
                    raise ValueError(
                        f"{path.name} line {line}: {flag} must be yes or no"
                    )
                row[flag] = row[flag] == "yes"
            row["aliases"] = [
                alias.strip() for alias in row["aliases"].split("|") if alias.strip()
            ]
            rows.append(row)
        return rows


@transaction.atomic
def catalog_sync() -> int:
    """Upsert every catalog row into ErrorCode; return how many rows the file has."""
    entries = [ErrorCode(known=True, **row) for row in catalog_rows()]
    ErrorCode.objects.bulk_create(
        entries,
        update_conflicts=True,
        unique_fields=["provider", "code"],
        update_fields=[*UPDATE_FIELDS, "known"],
        batch_size=200,
    )
    return len(entries)


def catalog_sync_after_migrate(using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: keep the table in step with the file after every migrate."""
    if (
        ErrorCode._meta.db_table
        in transaction.get_connection(using).introspection.table_names()
    ):
        catalog_sync()


def error_get(
    *, provider: str, code: str | int, status: str = Status.UNDELIVERED
) -> ErrorCode:
    """Return the catalog entry for a provider's code, adding an 'unknown' one if none exists.

    A code missing from the catalog must still explain itself rather than crash
    or vanish; support can see such entries (known=False) and write them up.
    """
    code = str(code).strip()
    looked_up = _looked_up.get()
    if looked_up is not None and (provider, code) in looked_up:
        return looked_up[provider, code]
    entry, _ = ErrorCode.objects.get_or_create(
        provider=provider,
        code=code,
        defaults={
            "title": f"Unknown error {code} from {provider}",
            "meaning": f"{provider.title()} reported error {code}, which is not in our "
            "catalog yet.",
            "resolution": "Check the message details. If it keeps happening, contact "
            "support with the code so it can be explained.",
            "category": ErrorCode.Category.UNKNOWN,
            "temporary": False,
            # The provider attempted delivery, so it most likely charged for it.
            "billable": status not in (Status.FAILED, Status.REJECTED),
            "number_advice": ErrorCode.NumberAdvice.KEEP,
            "status": status,
            "known": False,
        },
    )
    if looked_up is not None:
        looked_up[provider, code] = entry
    return entry


@contextmanager
def errors_cached() -> Iterator[None]:
    """Look each error code up once while a batch of receipts is parsed, not per receipt.

    Scoped to the batch: an entry added for an unknown code is not kept past a
    batch whose transaction may roll back.
    """
    token = _looked_up.set({})
    try:
        yield
    finally:
        _looked_up.reset(token)


def portal_error(code: str) -> ErrorCode:
    """Return one of the portal's own catalog entries (opted_out, insufficient_credit, ...)."""
    return ErrorCode.objects.get(provider="portal", code=code)
