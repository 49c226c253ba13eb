"""Support site: messages and their raw events (read-only), senders, opt-outs, the catalog."""

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from messaging.models import (
    ErrorCode,
    Message,
    MessageEvent,
    OptOut,
    OptOutEvent,
    Sender,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is evidence: support reads it and never edits it."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(ErrorCode)
class ErrorCodeAdmin(ReadOnlyAdmin):
    list_display = [
        "provider",
        "code",
        "title",
        "category",
        "temporary",
        "billable",
        "number_advice",
        "status",
        "known",
    ]
    list_filter = [
        "provider",
        "category",
        "temporary",
        "billable",
        "number_advice",
        "known",
    ]
    search_fields = ["code", "title", "aliases", "meaning"]


class MessageEventInline(admin.TabularInline):
    model = MessageEvent
    fields = [
        "created_at",
        "kind",
        "from_status",
        "status",
        "provider_status",
        "error",
        "applied",
        "payload",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["created_at", "pk"]

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "direction",
        "phone",
        "status",
        "error",
        "campaign",
        "account",
        "provider",
    ]
    list_filter = ["status", "direction", "provider", "error__category", "created_at"]
    list_select_related = ["error", "campaign", "account"]
    search_fields = ["phone", "provider_message_id", "=uuid"]
    raw_id_fields = ["account", "campaign", "lead", "sender", "error", "retry_of"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # never COUNT(*) the whole table
    inlines = [MessageEventInline]


@admin.register(MessageEvent)
class MessageEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "provider",
        "provider_message_id",
        "from_status",
        "status",
        "applied",
        "message",
    ]
    list_filter = ["kind", "provider", "applied", "status"]
    search_fields = ["provider_message_id"]
    raw_id_fields = ["message", "error"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[MessageEvent]:
        return super().get_queryset(request).select_related("message")


@admin.register(Sender)
class SenderAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "account",
        "provider",
        "phone_number",
        "throughput_per_second",
        "is_active",
    ]
    list_filter = ["provider", "is_active"]
    search_fields = ["name", "phone_number", "=uuid"]
    raw_id_fields = ["account"]
    readonly_fields = ["uuid"]


@admin.register(OptOut)
class OptOutAdmin(admin.ModelAdmin):
    list_display = ["phone", "account", "source", "detail", "created_at"]
    list_filter = ["source", "created_at"]
    search_fields = ["phone"]
    raw_id_fields = ["account"]
    show_full_result_count = False


@admin.register(OptOutEvent)
class OptOutEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "phone",
        "account",
        "opted_out",
        "source",
        "detail",
        "actor",
    ]
    list_filter = ["opted_out", "source"]
    search_fields = ["phone"]
    raw_id_fields = ["account", "actor"]
    show_full_result_count = False
