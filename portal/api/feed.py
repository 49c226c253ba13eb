"""Change feeds: ?updated_after= lists every change at least once, oldest first.

The guarantee: a client that starts from any updated_after and then follows
each answer's cursor sees every row changed after that time, at least once
(a row changed again comes again). It never misses a row, even one whose
transaction commits after a later-stamped row was already seen, because a
page only holds rows older than the horizon: the start of the oldest
transaction still open on the database (PostgreSQL), and in any case
API_FEED_SAFETY_SECONDS ago. A row still being written is younger than the
horizon, so it comes on a later page, after the cursor. On PostgreSQL a
trigger keeps every UPDATE's updated_at no older than its transaction's
start (portal/postgres.py), whatever the code wrote."""

import base64
import binascii
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from django.db.models import Q, QuerySet
from django.utils import timezone
from rest_framework import exceptions, pagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from portal.api.fields import MAX_ID
from portal.api.lists import NewestFirstCursorPagination, PageNumberPagination

FEED_PARAMETER = "updated_after"
FEED_HELP = (
    "Follow changes: rows changed after this time (ISO 8601), oldest change "
    "first by (updated_at, id), up to a few seconds ago. Poll again with the "
    "answer's cursor: no change is ever missed (a row changed again comes again)."
)
CURSOR_PARAMETER = "cursor"

# The oldest open transaction in this database, other than the poller's own.
OLDEST_TRANSACTION_SQL = """
SELECT least(
    clock_timestamp() - %s,
    (SELECT min(xact_start) FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid()
       AND backend_type = 'client backend' AND xact_start IS NOT NULL)
)
"""


def feed_horizon(*, using: str) -> datetime:
    """Rows changed before this time are committed, or will never be: a page stops there."""
    lag = timedelta(seconds=settings.API_FEED_SAFETY_SECONDS)
    connection = connections[using]
    if connection.vendor != "postgresql":
        # SQLite writes one transaction at a time: the margin is the guarantee.
        return timezone.now() - lag
    with connection.cursor() as cursor:
        cursor.execute(OLDEST_TRANSACTION_SQL, [lag])
        return cursor.fetchone()[0]


def cursor_encode(updated_at: datetime, pk: int) -> str:
    text = f"{updated_at.isoformat()}|{pk}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def cursor_decode(value: str) -> tuple[datetime, int]:
    """The (updated_at, id) a cursor names; 400 naming the parameter if it is not one."""
    try:
        padded = value + "=" * (-len(value) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
        stamp, pk_text = text.split("|")
        updated_at, pk = datetime.fromisoformat(stamp), int(pk_text)
        if updated_at.tzinfo is None or not 0 <= pk <= MAX_ID:
            raise ValueError
    except (ValueError, UnicodeError, binascii.Error):
        raise exceptions.ValidationError(
            {
                CURSOR_PARAMETER: [
                    "Not a cursor this API gave: use the cursor or next link of "
                    "the previous page unchanged."
                ]
            }
        ) from None
    return updated_at, pk


class ChangeFeedPagination(pagination.BasePagination):
    """With ?updated_after=: pages by (updated_at, id) up to the horizon, with a cursor.

    Without it, the view's usual paging (fallback_class). Each feed page
    answers next (more rows are ready now, or null) and cursor (where to
    resume: poll again later with it, also when the page was empty).
    """

    fallback_class: type[pagination.BasePagination] = PageNumberPagination
    page_size = 100
    max_page_size = 1000
    page_size_query_param = "page_size"

    def paginate_queryset(self, queryset: QuerySet, request, view=None):
        self.feed = FEED_PARAMETER in request.query_params
        if not self.feed:
            self.fallback = self.fallback_class()
            return self.fallback.paginate_queryset(queryset, request, view)
        self.request = request
        self.cursor = request.query_params.get(CURSOR_PARAMETER) or None
        rows = queryset.filter(updated_at__lt=feed_horizon(using=queryset.db))
        if self.cursor is not None:
            updated_at, pk = cursor_decode(self.cursor)
            rows = rows.filter(
                Q(updated_at__gt=updated_at) | Q(updated_at=updated_at, pk__gt=pk)
            )
        size = self.get_page_size(request)
        page = list(rows.order_by("updated_at", "pk")[: size + 1])
        self.has_more = len(page) > size
        page = page[:size]
        if page:
            self.cursor = cursor_encode(page[-1].updated_at, page[-1].pk)
        return page

    def get_page_size(self, request) -> int:
        try:
            size = int(request.query_params[self.page_size_query_param])
        except (KeyError, ValueError):
            return self.page_size
        return min(max(size, 1), self.max_page_size)

    def get_paginated_response(self, data):
        if not self.feed:
            return self.fallback.get_paginated_response(data)
        next_url = None
        if self.has_more:
            next_url = replace_query_param(
                self.request.build_absolute_uri(), CURSOR_PARAMETER, self.cursor
            )
        return Response({"next": next_url, "cursor": self.cursor, "results": data})

    def get_paginated_response_schema(self, schema):
        usual = self.fallback_class().get_paginated_response_schema(schema)
        usual["properties"]["cursor"] = {
            "type": "string",
            "nullable": True,
            "description": "With updated_after: where this page ends. Poll again "
            "with the same query and this cursor to get the changes after it "
            "(null when nothing was seen yet: poll the same query again).",
        }
        usual["required"] = ["results"]
        return usual

    def get_schema_operation_parameters(self, view):
        usual = self.fallback_class().get_schema_operation_parameters(view)
        if any(p["name"] == CURSOR_PARAMETER for p in usual):
            return usual
        cursor = {
            "name": CURSOR_PARAMETER,
            "required": False,
            "in": "query",
            "description": "With updated_after: the cursor of the previous page.",
            "schema": {"type": "string"},
        }
        return [*usual, cursor]


class NewestFirstFeedPagination(ChangeFeedPagination):
    """Messages: newest first by id, or the change feed with updated_after."""

    fallback_class = NewestFirstCursorPagination
