"""Input and output serializers of the campaigns API; outputs make no queries of their own."""

from rest_framework import serializers

from campaigns.models import Campaign, CampaignStep, LeadImport
from messaging.explain import NUMBER_ADVICE_HELP
from messaging.models import ErrorCode
from messaging.statuses import BUCKET_MEANING, Bucket
from portal.api.fields import IdField, TextDictField


class LeadListOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    created_at = serializers.DateTimeField()


class LeadListCreateInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)


class LeadOutputSerializer(serializers.Serializer):
    """Expects leads annotated by lead_list() (opted_out, number_advice) with lists prefetched."""

    id = serializers.IntegerField()
    phone = serializers.CharField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    fields = serializers.DictField()
    lists = serializers.SerializerMethodField()
    opted_out = serializers.BooleanField()
    number_advice = serializers.ChoiceField(
        choices=ErrorCode.NumberAdvice.choices,
        allow_null=True,
        help_text=f"From the lead's latest error, if any. {NUMBER_ADVICE_HELP}",
    )
    suppressed_at = serializers.DateTimeField(allow_null=True)
    suppressed_reason = serializers.CharField()
    deleted_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_lists(self, lead) -> list[int]:
        return [lead_list.pk for lead_list in lead.lists.all()]


class LeadInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=40)
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    fields = TextDictField(required=False)
    lists = serializers.ListField(child=IdField(), required=False)


class LeadImportInputSerializer(serializers.Serializer):
    file = serializers.FileField()
    list = serializers.CharField(max_length=200, required=False, allow_blank=True)


class LeadImportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=LeadImport.Status.choices)
    filename = serializers.CharField()
    list = serializers.IntegerField(source="lead_list_id", allow_null=True)
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    rows_imported = serializers.IntegerField()
    rows_created = serializers.IntegerField()
    rows_failed = serializers.IntegerField()
    errors = serializers.ListField(
        child=serializers.DictField(),
        help_text="One line per bad row: row (line in the file), value, reason.",
    )
    failure_reason = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class CampaignStepSerializer(serializers.Serializer):
    """A later step of a sequence: step 1 is the campaign's body."""

    number = serializers.IntegerField(read_only=True)
    body = serializers.CharField()
    delay = serializers.IntegerField(min_value=0, default=1)
    delay_unit = serializers.ChoiceField(
        choices=CampaignStep.Unit.choices, default=CampaignStep.Unit.DAYS
    )
    send_at = serializers.DateTimeField(
        allow_null=True, default=None, help_text="A fixed time instead of the delay."
    )


STOP_RULES_HELP = "Stop a lead's later steps when this happens."


class CampaignOutputSerializer(serializers.Serializer):
    """Expects lists and steps prefetched and context["counts"] from campaign_bucket_counts."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    state = serializers.ChoiceField(choices=Campaign.State.choices)
    state_label = serializers.CharField(source="get_state_display")
    result = serializers.CharField()
    sender = serializers.IntegerField(source="sender_id", allow_null=True)
    body = serializers.CharField(help_text="Step 1's message.")
    steps = CampaignStepSerializer(
        many=True, help_text="The later steps of a sequence, in order."
    )
    stop_on_reply = serializers.BooleanField(help_text=STOP_RULES_HELP)
    stop_on_opt_out = serializers.BooleanField(help_text=STOP_RULES_HELP)
    stop_on_permanent_error = serializers.BooleanField(help_text=STOP_RULES_HELP)
    include_new_leads = serializers.BooleanField()
    scheduled_at = serializers.DateTimeField(allow_null=True)
    field_defaults = serializers.DictField()
    lists = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    launched_at = serializers.DateTimeField(allow_null=True)
    done_at = serializers.DateTimeField(allow_null=True)
    canceled_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_lists(self, campaign) -> list[int]:
        return [lead_list.pk for lead_list in campaign.lists.all()]

    def get_counts(self, campaign) -> dict[str, int]:
        return self.context.get("counts", {}).get(campaign.pk, {})


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    body = serializers.CharField(
        required=False, allow_blank=True, help_text="Step 1's message."
    )
    steps = CampaignStepSerializer(
        many=True,
        required=False,
        help_text="The later steps of a sequence, in order; replaces them all.",
    )
    stop_on_reply = serializers.BooleanField(required=False)
    stop_on_opt_out = serializers.BooleanField(required=False)
    stop_on_permanent_error = serializers.BooleanField(required=False)
    include_new_leads = serializers.BooleanField(required=False)
    sender = IdField(required=False, allow_null=True)
    field_defaults = TextDictField(required=False)
    lists = serializers.ListField(child=IdField(), required=False)
    validity_hours = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=72
    )


class CampaignLaunchInputSerializer(serializers.Serializer):
    confirm_warnings = serializers.BooleanField(default=False)


class LaunchPreviewOutputSerializer(serializers.Serializer):
    problems = serializers.ListField(child=serializers.CharField())
    warnings = serializers.ListField(child=serializers.CharField())
    leads = serializers.IntegerField()
    segments = serializers.IntegerField()
    credit_needed = serializers.IntegerField()


class CountOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class BucketOutputSerializer(serializers.Serializer):
    bucket = serializers.CharField()
    label = serializers.CharField()
    meaning = serializers.CharField()
    count = serializers.IntegerField()


class ErrorCountOutputSerializer(serializers.Serializer):
    provider = serializers.CharField(source="error.provider")
    code = serializers.CharField(source="error.code")
    title = serializers.CharField(source="error.title")
    meaning = serializers.CharField(source="error.meaning")
    resolution = serializers.CharField(source="error.resolution")
    number_advice = serializers.CharField(
        source="error.number_advice", help_text=NUMBER_ADVICE_HELP
    )
    count = serializers.IntegerField()


class CampaignStatsOutputSerializer(serializers.Serializer):
    campaign = serializers.IntegerField()
    state = serializers.CharField()
    result = serializers.CharField()
    total = serializers.IntegerField()
    buckets = BucketOutputSerializer(many=True)
    errors = ErrorCountOutputSerializer(many=True)


def bucket_rows(counts: dict[str, int]) -> list[dict]:
    return [
        {
            "bucket": bucket.value,
            "label": bucket.label,
            "meaning": BUCKET_MEANING[bucket],
            "count": counts.get(bucket.value, 0),
        }
        for bucket in Bucket
    ]
