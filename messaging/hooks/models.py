"""Outbound webhooks: endpoints, their outbox of events, and each delivery attempt."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from portal.models import TimeStampedModel


class HookEndpoint(TimeStampedModel):
    """An HTTPS URL of an account's that is sent the events it picked, signed with its secret."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        # Deliveries kept failing past the retry window; events still wait.
        FAILING = "failing", "Failing: deliveries stopped"
        DISABLED = "disabled", "Disabled"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="hook_endpoints"
    )
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # HookEvent.Type values; read in Python (a handful of endpoints per account).
    event_types = models.JSONField(default=list)
    # Fernet-encrypted (PORTAL_CREDENTIALS_KEY): shown once, needed to sign.
    secret_encrypted = models.TextField(editable=False)
    # After a rotation the old secret also signs for a day, so receivers can switch.
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Retry bookkeeping: consecutive failed attempts, when the first of them
    # was, and when the next may start.
    failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    # One delivery at a time per endpoint (order per message): the worker that
    # holds the lease sends; a dead worker's lease runs out.
    leased_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "webhook endpoint"
        verbose_name_plural = "webhook endpoints"

    def __str__(self) -> str:
        return self.description or self.url


class HookEvent(models.Model):
    """One event waiting for (or sent to) one endpoint: the outbox row.

    Written in the transaction of the change it tells of, so it exists exactly
    when the change does. Message events keep only ids and the new status:
    the payload is read when the batch is sent.
    """

    class Type(models.TextChoices):
        MESSAGE_STATUS = "message.status_changed", "A message's status changed"
        MESSAGE_RECEIVED = "message.received", "A text came in"
        OPT_OUT = "opt_out.changed", "A number opted out or back in"
        CAMPAIGN_STATE = "campaign.state_changed", "A campaign's state changed"
        ALERT = "alert.raised", "An alert was raised"
        # Sent on request from the endpoint's page, whatever it picked.
        TEST = "endpoint.test", "Test event"

    id = models.BigAutoField(primary_key=True)
    endpoint = models.ForeignKey(
        HookEndpoint, on_delete=models.PROTECT, related_name="outbox", db_index=False
    )
    created_at = models.DateTimeField(default=timezone.now)
    type = models.CharField(max_length=40, choices=Type.choices)
    message = models.ForeignKey(
        "messaging.Message",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,  # the message table is the hot one: no extra check per row
        db_index=False,
    )
    status = models.CharField(max_length=12, blank=True)
    error = models.ForeignKey(
        "messaging.ErrorCode",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    data = models.JSONField(default=dict, blank=True)
    # The delivery that the endpoint acknowledged; NULL while the event waits.
    delivery = models.ForeignKey(
        "HookDelivery",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )

    class Meta:
        indexes = [
            # The next batch: an endpoint's waiting events in id order. Partial,
            # so delivered events cost it nothing.
            models.Index(
                fields=["endpoint", "id"],
                condition=Q(delivery__isnull=True),
                name="hookevent_waiting",
            ),
            # Replay since a time.
            models.Index(
                fields=["endpoint", "created_at"], name="hookevent_endpoint_time"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"


class HookDelivery(models.Model):
    """One POST of a batch of events to an endpoint, and what came back."""

    endpoint = models.ForeignKey(
        HookEndpoint,
        on_delete=models.PROTECT,
        related_name="deliveries",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    event_count = models.PositiveIntegerField()
    succeeded = models.BooleanField()
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # Why it failed in words ("timed out after 10 s", "HTTP 500"), or "".
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(
                fields=["endpoint", "-id"], name="hookdelivery_endpoint_latest"
            ),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} of {self.event_count} events"
