"""FilterSets of the messaging API."""

from django_filters import rest_framework as filters

from messaging.models import ErrorCode, Message, OptOut
from messaging.statuses import Bucket, Status, statuses_in
from portal.api.feed import FEED_HELP
from portal.api.fields import IdFilter, UtcDateTimeFilter
from portal.phones import phone_parse


class MessageFilterSet(filters.FilterSet):
    campaign = IdFilter(field_name="campaign_id", lookup_expr="exact")
    lead = IdFilter(field_name="lead_id", lookup_expr="exact")
    status = filters.MultipleChoiceFilter(
        field_name="status", lookup_expr="exact", choices=Status.choices
    )
    bucket = filters.ChoiceFilter(
        choices=[(b.value, b.label) for b in Bucket if b != Bucket.DELETED_LEADS],
        method="filter_bucket",
    )
    error_category = filters.ChoiceFilter(
        field_name="error__category",
        lookup_expr="exact",
        choices=ErrorCode.Category.choices,
    )
    error_code = filters.CharFilter(field_name="error__code", lookup_expr="exact")
    direction = filters.ChoiceFilter(
        field_name="direction", lookup_expr="exact", choices=Message.Direction.choices
    )
    number = filters.CharFilter(method="filter_number")
    attempts = filters.ChoiceFilter(
        choices=[
            ("current", "The current attempt of each message (the default)"),
            ("all", "Every attempt, superseded ones included (history)"),
        ],
        method="filter_attempts",
        help_text="A resend is a new message (attempt, retry_of); the attempt it "
        "replaces is superseded. Lists, counts and exports show current attempts "
        "unless attempts=all.",
    )
    superseded = filters.BooleanFilter(
        method="filter_attempts",
        help_text="true: only replaced attempts; false: only current ones.",
    )
    updated_after = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text=FEED_HELP
    )
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gt")

    class Meta:
        model = Message
        fields: list[str] = []

    def __init__(self, *args, region: str = "", **kwargs) -> None:
        """region reads numbers typed without a country code; a worker has no request."""
        super().__init__(*args, **kwargs)
        account = getattr(self.request, "_portal_account", None)
        self.region = region or (account.default_country if account else "US")

    def filter_queryset(self, queryset):
        """Current attempts only, unless attempts=all or superseded says otherwise."""
        data = self.form.cleaned_data
        if data.get("superseded") is not None:
            queryset = queryset.filter(superseded=data["superseded"])
        elif data.get("attempts") != "all":
            queryset = queryset.filter(superseded=False)
        return super().filter_queryset(queryset)

    def filter_attempts(self, queryset, name, value):
        return queryset  # applied in filter_queryset: its default needs no parameter

    def filter_bucket(self, queryset, name, value):
        return queryset.filter(status__in=statuses_in(value))

    def filter_number(self, queryset, name, value):
        parsed = phone_parse(value, region=self.region)
        return queryset.filter(phone=parsed.e164 or value.strip())


class ErrorCodeFilterSet(filters.FilterSet):
    provider = filters.CharFilter(field_name="provider", lookup_expr="iexact")
    code = filters.CharFilter(field_name="code", lookup_expr="iexact")
    category = filters.ChoiceFilter(
        field_name="category", lookup_expr="exact", choices=ErrorCode.Category.choices
    )
    temporary = filters.BooleanFilter(field_name="temporary", lookup_expr="exact")

    class Meta:
        model = ErrorCode
        fields: list[str] = []


class OptOutFilterSet(filters.FilterSet):
    phone = filters.CharFilter(field_name="phone", lookup_expr="exact")
    source = filters.CharFilter(field_name="source", lookup_expr="exact")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gt")
    updated_after = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text=FEED_HELP
    )

    class Meta:
        model = OptOut
        fields: list[str] = []
