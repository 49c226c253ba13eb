"""Ids, times and text maps in API requests: only values the database can hold get through."""

from datetime import UTC

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Ids are 64-bit: a larger number names no object, and SQLite cannot even compare it.
MAX_ID = 2**63 - 1


class IdField(serializers.IntegerField):
    """An object's id in a request body."""

    def __init__(self, **kwargs) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """An object's id in a query string: a whole number (NumberFilter takes decimals)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, min_value=1, max_value=MAX_ID, **kwargs)


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 time turned into UTC before it reaches the database.

    PostgreSQL refuses offsets beyond 15:59 (+16:13 is valid ISO 8601), and a
    time near year 1 or 9999 can leave the calendar once in UTC: both are
    invalid input here rather than a database error. Any form Python's
    fromisoformat reads is taken (basic or extended, Z or an offset, a date
    alone), and an offset's "+" that arrived unencoded, as a space.
    """

    default_error_messages = {
        "invalid": "Enter a time in ISO 8601, e.g. 2026-01-31T09:00:00Z or "
        "2026-01-31T09:00:00+01:00."
    }

    def strptime(self, value, format):
        try:
            return super().strptime(value, format)
        except ValueError:
            # "+00:00" unencoded in a query string arrives as " 00:00".
            head, space, offset = str(value).strip().rpartition(" ")
            if not space or not offset[:1].isdigit():
                raise
            return super().strptime(f"{head}+{offset}", format)

    def to_python(self, value):
        value = super().to_python(value)
        if value is None:
            return None
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValidationError(
                "Enter a time between the years 1 and 9999 in UTC.", code="invalid"
            ) from None


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class TextDictField(serializers.DictField):
    """A map of names to text; the names are checked like the text.

    DRF checks a CharField's value for NUL and lone surrogates, but not a dict's
    keys, and PostgreSQL's jsonb refuses both.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(child=serializers.CharField(), **kwargs)
        self.key_field = serializers.CharField(allow_blank=True, trim_whitespace=False)

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        for key in data:
            self.key_field.run_validation(key)
        return data
