"""FilterSets of the campaigns API."""

from django_filters import rest_framework as filters

from campaigns.models import Campaign, Lead
from messaging.models import ErrorCode
from portal.api.feed import FEED_HELP
from portal.api.fields import IdFilter, UtcDateTimeFilter


class LeadFilterSet(filters.FilterSet):
    list = IdFilter(field_name="lists", lookup_expr="exact")
    phone = filters.CharFilter(field_name="phone", lookup_expr="exact")
    opted_out = filters.BooleanFilter(field_name="opted_out", lookup_expr="exact")
    number_advice = filters.ChoiceFilter(
        field_name="number_advice",
        lookup_expr="exact",
        choices=ErrorCode.NumberAdvice.choices,
    )
    updated_after = UtcDateTimeFilter(
        field_name="updated_at",
        lookup_expr="gt",
        help_text=FEED_HELP + " Deleted leads come too, with deleted_at set.",
    )

    class Meta:
        model = Lead
        fields: list[str] = []


class CampaignFilterSet(filters.FilterSet):
    state = filters.ChoiceFilter(
        field_name="state", lookup_expr="exact", choices=Campaign.State.choices
    )
    updated_after = UtcDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text=FEED_HELP
    )

    class Meta:
        model = Campaign
        fields: list[str] = []
