"""Statuses on screen: an icon plus a word, never colour alone."""

from django import template
from django.template.defaultfilters import date as date_format
from django.utils import timezone
from django.utils.html import format_html

from messaging.models import Message
from messaging.statuses import Bucket, Status, bucket_of

register = template.Library()

# One icon per bucket (glyphs every system font has, no emoji); the word beside it is the status label from statuses.py.  # noqa: E501
BUCKET_ICON = {
    Bucket.IN_QUEUE: "…",
    Bucket.OUTBOX: "↗",
    Bucket.SENT: "✔",
    Bucket.ERROR: "✖",
    Bucket.UNKNOWN: "?",
    Bucket.CANCELED: "⊘",
    Bucket.RECEIVED: "↙",
    Bucket.DELETED_LEADS: "−",
}


@register.simple_tag
def status_badge(status: str) -> str:
    bucket = bucket_of(status)
    return format_html(
        '<span class="status status-{}"><span aria-hidden="true">{}</span> {}</span>',
        bucket.value,
        BUCKET_ICON[bucket],
        Status(status).label,
    )


@register.simple_tag
def bucket_icon(bucket: str) -> str:
    return BUCKET_ICON[Bucket(bucket)]


@register.simple_tag
def hold_note(message: Message) -> str:
    """Why a queued message waits and until when, in the portal's zone; empty if it does not."""
    if message.status != Status.QUEUED or not message.hold:
        return ""
    release = timezone.localtime(message.next_attempt_at)
    return format_html(
        '<span class="hold-note"><span aria-hidden="true">⏸</span> {} until '
        '<time datetime="{}">{}</time> ({})</span>',
        Message.Hold(message.hold).label,
        release.isoformat(),
        date_format(release, "D j M H:i"),
        timezone.get_current_timezone_name(),
    )
