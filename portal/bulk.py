"""Bulk inserts: binary COPY on PostgreSQL, bulk_create elsewhere."""

from collections.abc import Iterable, Iterator, Sequence
from contextlib import nullcontext
from itertools import islice
from typing import TypeVar

from django.db import connection
from django.db.models import Model

T = TypeVar("T")


def chunked(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Split a list or a stream (a server-side cursor) into lists of at most size."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def rows_insert(
    model: type[Model], fields: Sequence[str], rows: Sequence[Sequence]
) -> None:
    """Insert rows of values for the model's fields (attribute names: "error_id").

    Values go in as given, with every column the table requires: no model
    instances are made, no defaults filled in, no pre_save hook run. A model
    instance and bulk_create cost about 40 us a row in Python; binary COPY
    hands psycopg the values as they are (ARCHITECTURE.md section 9).
    """
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            model(**dict(zip(fields, row, strict=True))) for row in rows
        )
        return
    columns = [model._meta.get_field(name) for name in fields]
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in columns)
    sql = f"COPY {table} ({names}) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor:
        # The raw psycopg cursor bypasses Django's query log: log the COPY, so
        # that query budgets count it as the one INSERT it replaces.
        logged = cursor.debug_sql(sql) if connection.queries_logged else nullcontext()
        with logged, cursor.cursor.copy(sql) as copy:
            # "varchar(12)" -> "varchar": binary COPY needs each column's type.
            copy.set_types([f.db_type(connection).split("(")[0] for f in columns])
            for row in rows:
                copy.write_row(row)
