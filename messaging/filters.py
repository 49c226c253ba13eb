"""FilterSets for the SMS log (and the API export, which shows the same rows)."""

import django_filters
from django import forms
from django.db.models import QuerySet

from messaging.models import ErrorCode, Message
from messaging.statuses import Bucket, Status, statuses_in
from portal.phones import phone_search_digits
from portal.sites import request_account_ids

# Buckets a message can be in (Deleted leads counts leads, not messages).
MESSAGE_BUCKETS = [b for b in Bucket if b != Bucket.DELETED_LEADS]

# The Status menu groups each status under the dashboard column that counts
# it, so "Sent" means one thing everywhere: the column of delivered messages.
STATUS_CHOICES_BY_BUCKET = [
    (f"{b.label} column", [(s, Status(s).label) for s in statuses_in(b)])
    for b in MESSAGE_BUCKETS
]


def _campaigns(request) -> QuerySet:
    # Reached through the foreign key: messaging never imports campaigns.
    campaign_model = Message._meta.get_field("campaign").related_model
    ids = request_account_ids(request) if request is not None else []
    return campaign_model._default_manager.filter(account__in=ids).order_by(
        "-created_at"
    )


class DateInput(forms.DateInput):
    input_type = "date"


class MessageFilterSet(django_filters.FilterSet):
    """The SMS log's filters: status, bucket, campaign, direction, error, dates, number."""

    q = django_filters.CharFilter(method="search_number", label="Number")
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES_BY_BUCKET,
        label="Status",
        help_text="The message's own status, listed under the dashboard column "
        "that counts it.",
    )
    bucket = django_filters.ChoiceFilter(
        choices=[(b.value, b.label) for b in MESSAGE_BUCKETS],
        method="filter_bucket",
        label="Dashboard column",
        help_text="The same columns as the Bulk Sequences widget: Sent there means "
        "delivered.",
    )
    campaign = django_filters.ModelChoiceFilter(
        queryset=_campaigns,
        error_messages={"invalid_choice": "none of your campaigns has this id."},
    )
    direction = django_filters.ChoiceFilter(choices=Message.Direction.choices)
    error_category = django_filters.ChoiceFilter(
        field_name="error__category",
        choices=ErrorCode.Category.choices,
        label="Error category",
    )
    sent_from = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__gte", label="From", widget=DateInput
    )
    sent_to = django_filters.DateFilter(
        field_name="created_at", lookup_expr="date__lte", label="To", widget=DateInput
    )

    class Meta:
        model = Message
        fields: list[str] = []

    def search_number(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        digits = phone_search_digits(value)
        if digits is None:
            return queryset
        return queryset.filter(phone__contains=digits)

    def filter_bucket(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(status__in=statuses_in(value))
