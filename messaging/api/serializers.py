"""Input and output serializers of the messaging API; outputs make no queries of their own."""

from django.urls import reverse
from rest_framework import serializers

from messaging.explain import NUMBER_ADVICE_HELP
from messaging.models import ErrorCode, Message, MessageEvent, MessageExport
from messaging.outbound import MAX_BODY_CHARS
from messaging.statuses import STATUS_MEANING, Status, bucket_of, is_final
from portal.api.fields import IdField


class MessageOutputSerializer(serializers.Serializer):
    """Flat: the status, its bucket and meaning, and the error's explanation if it failed.

    Expects Message rows from message_list_for_api(): lead and error selected, billable annotated.
    """

    id = serializers.IntegerField()
    uuid = serializers.UUIDField()
    campaign = serializers.IntegerField(source="campaign_id", allow_null=True)
    lead = serializers.IntegerField(source="lead_id", allow_null=True)
    lead_name = serializers.SerializerMethodField()
    direction = serializers.ChoiceField(choices=Message.Direction.choices)
    phone = serializers.CharField()
    body = serializers.CharField()
    segments = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Status.choices)
    status_label = serializers.CharField(source="get_status_display")
    status_meaning = serializers.SerializerMethodField()
    final = serializers.SerializerMethodField()
    bucket = serializers.SerializerMethodField()
    provider = serializers.CharField()
    provider_status = serializers.CharField()
    # The error's explanation; null when the message has no error.
    error_provider = serializers.CharField(
        source="error.provider", default=None, allow_null=True
    )
    error_code = serializers.CharField(
        source="error.code", default=None, allow_null=True
    )
    error_title = serializers.CharField(
        source="error.title", default=None, allow_null=True
    )
    error_meaning = serializers.CharField(
        source="error.meaning", default=None, allow_null=True
    )
    error_resolution = serializers.CharField(
        source="error.resolution", default=None, allow_null=True
    )
    error_category = serializers.ChoiceField(
        choices=ErrorCode.Category.choices,
        source="error.category",
        default=None,
        allow_null=True,
    )
    error_temporary = serializers.BooleanField(
        source="error.temporary", default=None, allow_null=True
    )
    number_advice = serializers.ChoiceField(
        choices=ErrorCode.NumberAdvice.choices,
        source="error.number_advice",
        default=None,
        allow_null=True,
        help_text=NUMBER_ADVICE_HELP,
    )
    billable = serializers.BooleanField(
        help_text="Costs credit: the error's rule if it failed, else whether charged."
    )
    billed = serializers.BooleanField()
    attempt = serializers.IntegerField()
    retry_of = serializers.IntegerField(
        source="retry_of_id",
        allow_null=True,
        help_text="The attempt this one resends (null for a first attempt).",
    )
    superseded = serializers.BooleanField(
        help_text="A later attempt replaced this one; lists show it with "
        "attempts=all only."
    )
    queued_at = serializers.DateTimeField(source="created_at")
    sent_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.SerializerMethodField()
    final_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField()

    def get_lead_name(self, message: Message) -> str:
        return message.lead.name if message.lead_id else ""

    def get_status_meaning(self, message: Message) -> str:
        return STATUS_MEANING[Status(message.status)]

    def get_final(self, message: Message) -> bool:
        return is_final(message.status)

    def get_bucket(self, message: Message) -> str:
        return bucket_of(message.status).value

    def get_delivered_at(self, message: Message) -> str | None:
        if message.status != Status.DELIVERED or message.final_at is None:
            return None
        return serializers.DateTimeField().to_representation(message.final_at)


class MessageEventOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    message = serializers.IntegerField(source="message_id")
    created_at = serializers.DateTimeField()
    occurred_at = serializers.DateTimeField(allow_null=True)
    kind = serializers.ChoiceField(choices=MessageEvent.Kind.choices)
    from_status = serializers.CharField()
    status = serializers.CharField()
    provider = serializers.CharField()
    provider_status = serializers.CharField()
    applied = serializers.BooleanField(
        help_text="False when the change was recorded but ignored (late or duplicate)."
    )
    error_code = serializers.CharField(
        source="error.code", default=None, allow_null=True
    )
    error_title = serializers.CharField(
        source="error.title", default=None, allow_null=True
    )


class ErrorCodeOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.CharField()
    code = serializers.CharField()
    title = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    meaning = serializers.CharField()
    resolution = serializers.CharField()
    category = serializers.ChoiceField(choices=ErrorCode.Category.choices)
    temporary = serializers.BooleanField()
    billable = serializers.BooleanField()
    number_advice = serializers.ChoiceField(
        choices=ErrorCode.NumberAdvice.choices, help_text=NUMBER_ADVICE_HELP
    )
    status = serializers.ChoiceField(choices=Status.choices)
    bucket = serializers.SerializerMethodField()
    known = serializers.BooleanField()

    def get_bucket(self, error: ErrorCode) -> str:
        return bucket_of(error.status).value


class OptOutOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    phone = serializers.CharField()
    source = serializers.CharField()
    detail = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class OptOutCreateInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=40)
    detail = serializers.CharField(max_length=200, required=False, default="")


class MessageSendInputSerializer(serializers.Serializer):
    """One message to a number or to a lead (give one of the two)."""

    sender = IdField(help_text="One of the account's senders.")
    phone = serializers.CharField(
        max_length=40,
        required=False,
        help_text="E.164, or a national number read in the account's country.",
    )
    lead = IdField(required=False, help_text="Send to this lead.")
    body = serializers.CharField(max_length=MAX_BODY_CHARS)

    def validate(self, data: dict) -> dict:
        if ("phone" in data) == ("lead" in data):
            raise serializers.ValidationError("Give either phone or lead.")
        return data


class SenderOutputSerializer(serializers.Serializer):
    """A sender without its credentials, which are never shown."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    provider = serializers.CharField()
    phone_number = serializers.CharField()
    throughput_per_second = serializers.IntegerField()
    is_active = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class MessageExportOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=MessageExport.Status.choices)
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="The message filters it was started with.",
    )
    rows_total = serializers.IntegerField()
    rows_done = serializers.IntegerField()
    failure_reason = serializers.CharField(help_text="Why it failed, if it did.")
    download_url = serializers.SerializerMethodField(
        help_text="Where to GET the CSV file once the status is done."
    )
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_download_url(self, export: MessageExport) -> str | None:
        if export.status != MessageExport.Status.DONE:
            return None
        path = reverse("api:export-download", args=[export.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path
