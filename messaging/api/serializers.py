"""Input and output serializers of the messaging API; outputs make no queries of their own."""

from rest_framework import serializers

from messaging.exports import message_billable
from messaging.models import ErrorCode, Message, MessageEvent
from messaging.statuses import STATUS_MEANING, Status, bucket_of, is_final


class MessageOutputSerializer(serializers.Serializer):
    """Flat: the status, its bucket and meaning, and the error's explanation if it failed.

    Expects Message rows with select_related("lead", "error").
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
    error_provider = serializers.CharField(source="error.provider", default=None)
    error_code = serializers.CharField(source="error.code", default=None)
    error_title = serializers.CharField(source="error.title", default=None)
    error_meaning = serializers.CharField(source="error.meaning", default=None)
    error_resolution = serializers.CharField(source="error.resolution", default=None)
    error_category = serializers.CharField(source="error.category", default=None)
    error_temporary = serializers.BooleanField(source="error.temporary", default=None)
    number_advice = serializers.CharField(source="error.number_advice", default=None)
    billable = serializers.SerializerMethodField()
    billed = serializers.BooleanField()
    attempt = serializers.IntegerField()
    superseded = serializers.BooleanField()
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

    def get_billable(self, message: Message) -> bool:
        return message_billable(
            billed=message.billed,
            error_billable=message.error.billable if message.error_id else None,
        )

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
    error_code = serializers.CharField(source="error.code", default=None)
    error_title = serializers.CharField(source="error.title", default=None)


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
    number_advice = serializers.ChoiceField(choices=ErrorCode.NumberAdvice.choices)
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


class OptOutCreateInputSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=40)
    detail = serializers.CharField(max_length=200, required=False, default="")
