"""Tenancy: accounts, the staff who belong to them, and the account's credit."""

import zoneinfo
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone

# The federal TCPA calling window (47 CFR 64.1200(c)(1)): an account may narrow
# its sending window, never widen it.
FEDERAL_WINDOW = (time(8), time(21))


class TimeStampedModel(models.Model):
    """Every table records when a row was created and last changed."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


def time_zone_names() -> list[str]:
    """Every IANA time zone name this machine knows, sorted."""
    return sorted(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError("%(value)s is not a time zone.", params={"value": value})


class Job(TimeStampedModel):
    """A long task run by a worker for a person: its progress, who asked, how it ended.

    Each job model adds its own `status` (the running state's word differs) and
    what it works on.
    """

    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class Account(TimeStampedModel):
    """A customer organisation: owns senders, leads, campaigns and a credit balance."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    # Numbers written without a country code ("555 123 4567") are read in this region.
    default_country = models.CharField(max_length=2, default="US")
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="The portal shows this account's times in this zone, "
        "e.g. America/New_York.",
    )
    # Quiet hours: texts reach a recipient only inside this window of their
    # local day (messaging/quiet_hours.py), narrowed further where the
    # recipient's state requires it. 8:00-21:00 is the federal TCPA window.
    send_window_start = models.TimeField(
        default=time(8),
        help_text="Texts reach people from this time of their own day, "
        "8:00 at the earliest.",
    )
    send_window_end = models.TimeField(
        default=time(21),
        help_text="Texts reach people until this time of their own day, "
        "21:00 at the latest. Some states allow less (Florida: 20:00).",
    )
    # Credit is counted in SMS segments: what providers bill for.
    credit_balance = models.BigIntegerField(default=0)
    validity_hours = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Queued messages expire after this; blank = 16 h.",
    )
    receipt_wait_hours = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Sent messages with no receipt become unknown "
        "after this; blank = 72 h.",
    )
    help_reply = models.CharField(
        max_length=320,
        default="Reply STOP to stop receiving messages. For help, contact us.",
        help_text="Sent when someone texts HELP or INFO.",
    )
    opt_out_reply = models.CharField(
        max_length=320,
        default="You have been unsubscribed and will receive no more messages. "
        "Reply START to resubscribe.",
        help_text="Sent once when someone opts out, unless the provider confirms.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credit_balance__gte=0),
                name="account_credit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not (FEDERAL_WINDOW[0] <= self.send_window_start < self.send_window_end):
            raise ValidationError(
                {"send_window_start": "Start at 8:00 or later, before the end."}
            )
        if self.send_window_end > FEDERAL_WINDOW[1]:
            raise ValidationError({"send_window_end": "End at 21:00 at the latest."})

    @property
    def validity(self) -> int:
        return self.validity_hours or settings.PORTAL_VALIDITY_HOURS


class Membership(TimeStampedModel):
    """A user's place in an account; a user sees only the accounts they belong to."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        STAFF = "staff", "Staff"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STAFF)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account"], name="membership_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.account}"


class CreditEntry(TimeStampedModel):
    """Append-only ledger: every change to an account's balance and why."""

    class Reason(models.TextChoices):
        CHARGE = "charge", "Messages sent"
        REFUND = "refund", "Refund for messages not billable"
        ADJUSTMENT = "adjustment", "Adjustment by support"

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credit_entries"
    )
    delta = models.BigIntegerField(help_text="Segments added (positive) or spent.")
    reason = models.CharField(max_length=12, choices=Reason.choices)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name_plural = "credit entries"
        indexes = [
            models.Index(
                fields=["account", "created_at"], name="credit_account_created"
            )
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} ({self.get_reason_display()})"


class DashboardPreference(TimeStampedModel):
    """One row per user: which dashboard widgets they turned off in the gear menu."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="dashboard_preference",
    )
    hidden_widgets = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Dashboard of {self.user}"


class ApiToken(TimeStampedModel):
    """A per-account API key; only its SHA-256 is stored, the key is shown once."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, blank=True)
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyKey(models.Model):
    """The stored answer to a request sent with an Idempotency-Key, replayed on retry."""

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=200)
    # SHA-256 of method, path and body: the same key with another request is an error.
    fingerprint = models.CharField(max_length=64)
    # NULL while the first request is still running.
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "key"], name="idempotency_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.endpoint}"
