"""Message exports as CSV: one row per message, streamed in pieces, never held whole.

export_columns() is the one definition of the export: the SMS log screen, the
API's streamed exports (messages and a campaign's) and the export files
(messaging/export_jobs.py) share it, and it makes every cell a stranger could
have written safe to open in a spreadsheet (_cell). Every column is computed
by the database, so no model instance or per-row Python is needed:
PostgreSQL writes the CSV itself (COPY ... TO STDOUT), and on SQLite the csv
module writes the rows. Memory stays flat.
"""

import csv
import io
from collections.abc import Callable, Iterator
from typing import BinaryIO

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    F,
    Func,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Concat, NullIf, Substr, Trim
from django.db.models.lookups import In, Lookup, Regex
from django.http import StreamingHttpResponse

from messaging.models import Message
from messaging.statuses import Bucket, Status, statuses_in

# Rows per query. Each query costs ~10 ms to plan and start (1M rows: 2000 a
# chunk took 26 s, 10000 about 15 s on the benchmark); a chunk's CSV, about
# 350 bytes a message, stays a few MB in memory.
EXPORT_CHUNK_SIZE = 10000

# A cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]
# A number in E.164 is only digits after the plus: a spreadsheet reads it as a
# number, never as a formula, so the phone column keeps it as it is.
E164 = r"^\+[0-9]{1,15}$"

# The one rule for "billable": its error's rule if it failed, else whether it was charged.
BILLABLE = Q(error__billable=True) | Q(error__isnull=True, billed=True)


def billable_annotation() -> Case:
    """BILLABLE as a boolean column (the API's messages)."""
    return Case(
        When(BILLABLE, then=Value(True)),
        default=Value(False),
        output_field=BooleanField(),
    )


def _bucket() -> Case:
    # Built from statuses_in(): the one mapping of statuses to buckets.
    return Case(
        *[
            When(status__in=statuses_in(bucket), then=Value(bucket.value))
            for bucket in Bucket
            if statuses_in(bucket)
        ],
        output_field=CharField(),
    )


class IsoTimestamp(Func):
    """A timestamp as ISO 8601 text in UTC, always with microseconds, made by the database.

    Parsing a million timestamps into datetimes (psycopg's loader under Django
    runs in Python) only to print them again took a third of an export's time.
    """

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "to_char(%(expressions)s AT TIME ZONE 'UTC', "
            '\'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"\')'
        )
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores UTC there as 'YYYY-MM-DD HH:MM:SS[.ffffff]'.
        template = (
            "replace(substr(%(expressions)s || '.000000', 1, 26), ' ', 'T') || '+00:00'"
        )
        return self.as_sql(compiler, connection, template=template, **extra)


def _text(expression) -> NullIf:
    # Empty text as NULL: COPY writes both as an empty field, as the csv module does.
    return NullIf(expression, Value(""), output_field=CharField())


def _cell(expression, *, written_as_is: Lookup | None = None) -> NullIf:
    """Text a stranger may have chosen, made safe to open in a spreadsheet.

    A cell starting with one of FORMULA_STARTS gets a leading apostrophe, so
    Excel, LibreOffice and Google Sheets show it as text instead of running it
    as a formula (OWASP "CSV injection"). Values matching written_as_is are
    left alone. The database does it, so both writers (COPY on PostgreSQL, the
    csv module on SQLite) write the same safe cells.
    """
    expression = F(expression) if isinstance(expression, str) else expression
    risky = In(Substr(expression, 1, 1), FORMULA_STARTS)
    if written_as_is is not None:
        risky = Q(risky) & ~Q(written_as_is)
    return _text(
        Case(
            When(risky, then=Concat(Value("'"), expression)),
            default=expression,
            output_field=CharField(),
        )
    )


def export_columns() -> dict[str, object]:
    """The export's columns in order: CSV header -> field name or expression."""
    return {
        "message_id": "id",
        "message_uuid": "uuid",
        "campaign_id": "campaign_id",
        "campaign": _cell("campaign__name"),
        "lead_id": "lead_id",
        "lead_name": _cell(
            Trim(
                Concat(
                    Coalesce("lead__first_name", Value("")),
                    Value(" "),
                    Coalesce("lead__last_name", Value("")),
                    output_field=CharField(),
                )
            )
        ),
        "phone": _cell("phone", written_as_is=Regex(F("phone"), E164)),
        "direction": _text(F("direction")),
        "body": _cell("body"),
        "status": _text(F("status")),
        "bucket": _text(_bucket()),
        "provider": _text(F("provider")),
        "provider_status": _cell("provider_status"),
        "error_code": _cell("error__code"),
        "error_title": _cell("error__title"),
        "error_meaning": _cell("error__meaning"),
        "error_resolution": _cell("error__resolution"),
        "billable": Case(
            When(BILLABLE, then=Value("yes")),
            default=Value("no"),
            output_field=CharField(),
        ),
        "segments": "segments",
        "queued_at": IsoTimestamp("created_at"),
        "sent_at": IsoTimestamp("sent_at"),
        "delivered_at": Case(
            When(status=Status.DELIVERED, then=IsoTimestamp("final_at")),
            default=None,
            output_field=CharField(),
        ),
        "final_at": IsoTimestamp("final_at"),
    }


COLUMNS: list[str] = list(export_columns())


def _header() -> bytes:
    return (",".join(COLUMNS) + "\n").encode()


def _copy_chunk(rows: QuerySet) -> tuple[int, int, bytes]:
    """PostgreSQL writes one chunk's CSV itself: COPY (the query) TO STDOUT.

    Returns (rows, last id, CSV). The whole chunk is read before returning, so
    the connection is free again for the progress saves between chunks.
    """
    sql, params = rows.query.sql_with_params()
    statement = connection.ops.compose_sql(
        f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params
    )
    count, start, piece = 0, 0, bytearray()
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in copy:  # one row per message
            start = len(piece)
            piece += row
            count += 1
    # The last row's first field is its id.
    last = int(piece[start : piece.index(b",", start)]) if count else 0
    return count, last, bytes(piece)


class _LineFeedRows(io.StringIO):
    """Rows that end in "\n", as COPY's do, from a csv writer told to end them in "\r\n".

    The csv module quotes a field only for the characters of its line
    terminator: with "\n" alone it wrote a lone carriage return bare, which
    ends the row early in a spreadsheet. It writes each row in one call.
    """

    def write(self, row: str) -> int:
        return super().write(row.removesuffix("\r\n") + "\n")


def _csv_chunk(rows: QuerySet) -> tuple[int, int, bytes]:
    """Elsewhere (SQLite) the csv module writes the chunk's rows."""
    chunk = list(rows)
    buffer = _LineFeedRows()
    csv.writer(buffer, lineterminator="\r\n").writerows(chunk)
    return len(chunk), chunk[-1][0] if chunk else 0, buffer.getvalue().encode()


def message_export_pieces(queryset: QuerySet[Message]) -> Iterator[tuple[int, bytes]]:
    """Yield (messages so far, CSV bytes) pieces of the export, header first.

    Chunks on the primary key (WHERE id > last ORDER BY id LIMIT n): each walks
    the index instead of sorting the whole join, and no query stays open
    between chunks.
    """
    yield 0, _header()
    rows = queryset.order_by("pk").values_list(*export_columns().values())
    write = _copy_chunk if connection.vendor == "postgresql" else _csv_chunk
    total, last = 0, 0
    while True:
        count, last, piece = write(rows.filter(pk__gt=last)[:EXPORT_CHUNK_SIZE])
        total += count
        if count:
            yield total, piece
        if count < EXPORT_CHUNK_SIZE:
            return


def message_export_csv(queryset: QuerySet[Message]) -> Iterator[bytes]:
    """Yield the export as UTF-8 CSV, a piece at a time, header first."""
    for _, piece in message_export_pieces(queryset):
        yield piece


def message_export_response(
    queryset: QuerySet[Message], *, filename: str
) -> StreamingHttpResponse:
    """A download of the export, streamed as it is read (the screens and the API)."""
    response = StreamingHttpResponse(
        message_export_csv(queryset), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def message_export_write(
    queryset: QuerySet[Message],
    handle: BinaryIO,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export to a file opened in binary mode, reporting the count as it goes."""
    count = 0
    for count, piece in message_export_pieces(queryset):
        handle.write(piece)
        if progress is not None:
            progress(count)
    return count
