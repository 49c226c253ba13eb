"""Reads shaped for the API's lists: each an account's rows in the list's order."""

from django.db.models import QuerySet

from messaging.exports import billable_annotation
from messaging.models import (
    ErrorCode,
    Message,
    MessageEvent,
    MessageExport,
    OptOut,
    Sender,
)


def message_list_for_api(*, account_id: int) -> QuerySet[Message]:
    """The account's messages shaped for the API (one query per page)."""
    return (
        Message.objects.filter(account_id=account_id)
        .select_related("lead", "error")
        .annotate(billable=billable_annotation())
    )


def message_event_list_for_api(*, message: Message) -> QuerySet[MessageEvent]:
    """Every status change offered to the message, applied or ignored."""
    return MessageEvent.objects.filter(message=message).select_related("error")


def message_export_list_for_api(*, account_id: int) -> QuerySet[MessageExport]:
    """The account's exports, newest first."""
    return MessageExport.objects.filter(account_id=account_id).order_by(
        "-created_at", "-pk"
    )


def sender_list_for_api(*, account_id: int) -> QuerySet[Sender]:
    return Sender.objects.filter(account_id=account_id).order_by("pk")


def optout_list_for_api(*, account_id: int) -> QuerySet[OptOut]:
    """The account's opted-out numbers, newest first."""
    return OptOut.objects.filter(account_id=account_id).order_by("-created_at", "-pk")


def error_code_list_for_api() -> QuerySet[ErrorCode]:
    """The whole catalog, by provider and code."""
    return ErrorCode.objects.order_by("provider", "code")
