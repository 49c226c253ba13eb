"""How every API list pages and searches."""

import base64
import binascii
from urllib import parse

from rest_framework import exceptions, filters, pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(pagination.CursorPagination):
    """Cursor paging by id: stable while new rows are inserted, no COUNT over big tables."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000

    def decode_cursor(self, request):
        """The page a cursor names; one this API did not give is 400, not 404 or 500."""
        try:
            encoded = request.query_params.get(self.cursor_query_param)
            if encoded is not None:
                # DRF skips what is not base64 and reads anything else as page one.
                text = base64.b64decode(encoded.encode("ascii"), validate=True)
                fields = parse.parse_qs(text.decode("ascii"), keep_blank_values=True)
                if not fields or not fields.keys() <= {"o", "r", "p"}:
                    raise ValueError
            cursor = super().decode_cursor(request)
            # The position is an id: a crafted one must not reach the database.
            if cursor is not None and cursor.position is not None:
                if not 0 <= int(cursor.position) < 2**63:
                    raise ValueError
            return cursor
        except (exceptions.NotFound, ValueError, UnicodeError, binascii.Error):
            raise exceptions.ValidationError(
                {
                    self.cursor_query_param: [
                        "Not a cursor this API gave: follow the next link unchanged."
                    ]
                }
            ) from None


class SearchFilter(filters.SearchFilter):
    """?search= on every list that has search_fields; ?q= is its alias."""

    aliases = ("search", "q")

    def get_search_terms(self, request):
        for name in self.aliases:
            if request.query_params.get(name):
                self.search_param = name
                break
        return super().get_search_terms(request)

    def get_schema_operation_parameters(self, view):
        if not getattr(view, "search_fields", None):
            return []
        fields = ", ".join(
            f.lstrip("^=@$").replace("__", " ") for f in view.search_fields
        )
        return [
            {
                "name": name,
                "required": False,
                "in": "query",
                "description": f"Words to find in: {fields} (case-insensitive; "
                "every word must match)."
                + (" Alias of search." if name == "q" else ""),
                "schema": {"type": "string"},
            }
            for name in self.aliases
        ]
