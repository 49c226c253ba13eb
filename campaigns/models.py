"""Leads, lists of leads, and campaigns (bulk sequences)."""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import ngettext

from portal.models import Job, TimeStampedModel, validate_time_zone


def full_name(first_name: str, last_name: str) -> str:
    return f"{first_name} {last_name}".strip()


class LeadList(TimeStampedModel):
    """A named group of leads that a campaign can target."""

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="lead_lists"
    )
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="leadlist_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(TimeStampedModel):
    """A recipient: one phone number per account, soft-deleted so campaigns can count it."""

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="leads"
    )
    phone = models.CharField(max_length=16, help_text="E.164, e.g. +15551234567")
    # The phone as it was when a writer found it valid: fan-outs check only a
    # number that differs (ARCHITECTURE 9: the check was a third of a fan-out).
    checked_phone = models.CharField(max_length=16, blank=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    fields = models.JSONField(
        default=dict, blank=True, help_text="Custom fields from imports."
    )
    # Quiet hours are counted in this zone; blank: the zones of the number's
    # area code (messaging/quiet_hours.py).
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Where the lead lives, e.g. America/Chicago; blank: from the "
        "number's area code.",
    )
    lists = models.ManyToManyField(LeadList, blank=True, related_name="leads")
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The import that last wrote this lead: a number met again in the same import
    # is a duplicate row, without holding every number of the file in memory.
    last_import = models.ForeignKey(
        "campaigns.LeadImport",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # Staff suppress numbers whose errors say they can never be delivered.
    suppressed_at = models.DateTimeField(null=True, blank=True)
    suppressed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "phone"], name="lead_unique_phone"
            ),
        ]
        indexes = [
            # The Deleted leads count starts from the account's leads deleted
            # since a campaign's launch.
            models.Index(
                fields=["account", "deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="lead_deleted_at",
            ),
            # The change feed's order (?updated_after=, portal/api/feed.py).
            models.Index(
                fields=["account", "updated_at", "id"], name="lead_feed_account_updated"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.phone

    @property
    def name(self) -> str:
        return full_name(self.first_name, self.last_name)


class InboxLead(Lead):
    """A lead as the inbox lists it: its last text waits for an answer (campaigns.replies)."""

    class Meta:
        proxy = True
        verbose_name = "unanswered reply"
        verbose_name_plural = "Inbox"


class Campaign(TimeStampedModel):
    """A bulk sequence: one body template sent through one sender to one or more lists."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        PROCESSING = "processing", "Being processed"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELED = "canceled", "Canceled"
        # Its queued messages are held (not handed to providers) until resumed.
        PAUSED = "paused", "Paused"

    class Result(models.TextChoices):
        DELIVERED = "delivered", "All delivered"
        PARTIAL = "partial", "Partially received"
        FAILED = "failed", "All failed"

    # Launched and not ended: fanning out, sending, or waiting for receipts.
    # Sending starts with the fan-out's first batch, so both may still fan out.
    RUNNING = (State.PROCESSING, State.IN_PROGRESS)
    CANCELABLE = (State.DRAFT, *RUNNING, State.PAUSED)

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="campaigns"
    )
    name = models.CharField(max_length=200)
    sender = models.ForeignKey(
        "messaging.Sender",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
    )
    body = models.TextField(
        blank=True, help_text="Lead fields in braces are filled in: Hi {first_name}!"
    )
    field_defaults = models.JSONField(
        default=dict,
        blank=True,
        help_text='Used when a lead lacks a field: {"first_name": "friend"}.',
    )
    lists = models.ManyToManyField(LeadList, blank=True, related_name="campaigns")
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    result = models.CharField(max_length=10, choices=Result.choices, blank=True)
    validity_hours = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Blank = the account's validity period."
    )
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    launched_at = models.DateTimeField(null=True, blank=True)
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    first_sent_at = models.DateTimeField(null=True, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # A draft with a launch time: the schedule sweep launches it then
    # (campaigns/schedule.py). Until then it is a draft like any other.
    scheduled_at = models.DateTimeField(null=True, blank=True)
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Stop rules: a lead's later steps are not sent after any of these.
    stop_on_reply = models.BooleanField(
        default=True, help_text="Stop a lead's sequence when the lead replies."
    )
    stop_on_opt_out = models.BooleanField(
        default=True, help_text="Stop a lead's sequence when the lead opts out."
    )
    stop_on_permanent_error = models.BooleanField(
        default=True,
        help_text="Stop a lead's sequence when a step hits a permanent error.",
    )
    include_new_leads = models.BooleanField(
        default=False,
        help_text="Also send to leads who join the lists after the launch, "
        "until the campaign is done.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "state"], name="campaign_account_state"),
            # The change feed's order (?updated_after=, portal/api/feed.py).
            models.Index(
                fields=["account", "updated_at", "id"], name="campaign_feed_updated"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(state="done") | Q(done_at__isnull=False),
                name="campaign_done_has_done_at",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def can_launch(self) -> bool:
        return self.state == self.State.DRAFT

    def is_running(self) -> bool:
        return self.state in self.RUNNING

    def can_cancel(self) -> bool:
        return self.state in self.CANCELABLE

    def can_pause(self) -> bool:
        return self.state in self.RUNNING

    def can_resume(self) -> bool:
        return self.state == self.State.PAUSED


class AlertRule(models.Model):
    """An account's own limit for one kind of alert, replacing the default of that kind.

    The defaults are data in campaigns/alert_rules.json. A rule fires when,
    over the last window_minutes of a campaign's answered messages (or its
    receipts, for slow receipts), at least min_messages were counted, at least
    min_matching matched, and the matching share is over threshold_percent.
    """

    class Kind(models.TextChoices):
        ERROR_RATE = "error_rate", "High error rate"
        CARRIER_FILTERING = "carrier_filtering", "Spam filter or unregistered sender"
        SLOW_RECEIPTS = "slow_receipts", "Slow receipts"

    account = models.ForeignKey(
        "portal.Account", on_delete=models.CASCADE, related_name="alert_rules"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    enabled = models.BooleanField(default=True)
    window_minutes = models.PositiveSmallIntegerField(default=60)
    min_messages = models.PositiveIntegerField(default=200)
    min_matching = models.PositiveIntegerField(default=1)
    threshold_percent = models.FloatField(default=3.0)
    # Slow receipts: a receipt later than this after the send is slow. One of
    # the monitor's band edges (messaging.monitor.RECEIPT_BANDS).
    slow_after_seconds = models.PositiveIntegerField(default=300)
    # Carrier filtering: errors of these catalog categories, or these codes
    # written "provider:code", match.
    error_categories = models.JSONField(default=list, blank=True)
    error_codes = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["kind", "account_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kind"], name="alertrule_unique"
            ),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(account__isnull=True),
                name="alertrule_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.account or 'default'})"


class Alert(models.Model):
    """One episode of an alert condition on a campaign: raised once, cleared when it ends."""

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="alerts"
    )
    campaign = models.ForeignKey(
        Campaign, on_delete=models.PROTECT, related_name="alerts"
    )
    kind = models.CharField(max_length=20, choices=AlertRule.Kind.choices)
    summary = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    cleared_at = models.DateTimeField(null=True, blank=True)
    paused_campaign = models.BooleanField(default=False)

    class Meta:
        ordering = ["-raised_at", "-pk"]
        constraints = [
            # One open episode per condition: two sweeps at once raise it once.
            models.UniqueConstraint(
                fields=["campaign", "kind"],
                condition=Q(cleared_at__isnull=True),
                name="alert_one_open_episode",
            ),
        ]
        indexes = [
            # The dashboard's open alerts of the user's accounts.
            models.Index(fields=["account", "raised_at"], name="alert_account_raised"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.campaign}"


class CampaignStep(models.Model):
    """A follow-up text of a campaign: step 1 is the campaign's body, these are 2, 3, ...

    Each step goes to the leads whose previous step was sent `delay` ago (or,
    with `send_at`, at that time) and whose sequence no stop rule ended
    (campaigns/steps.py).
    """

    class Unit(models.TextChoices):
        MINUTES = "minutes", "minutes"
        HOURS = "hours", "hours"
        DAYS = "days", "days"

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="steps"
    )
    number = models.PositiveSmallIntegerField()
    body = models.TextField(help_text="Lead fields in braces are filled in.")
    delay = models.PositiveIntegerField(
        default=1, help_text="How long after the previous step was sent."
    )
    delay_unit = models.CharField(max_length=7, choices=Unit.choices, default=Unit.DAYS)
    send_at = models.DateTimeField(
        null=True, blank=True, help_text="A fixed time instead of the delay."
    )

    class Meta:
        ordering = ["campaign", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "number"], name="campaignstep_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=2), name="campaignstep_after_first"
            ),
        ]

    def __str__(self) -> str:
        return f"Step {self.number}"

    @property
    def delay_label(self) -> str:
        """ "2 days after step 1 was sent" (a fixed time is shown by the page, in its zone)."""
        unit = self.get_delay_unit_display()
        if self.delay == 1:
            unit = unit.rstrip("s")
        return f"{self.delay} {unit} after step {self.number - 1} was sent"

    @property
    def delay_timedelta(self) -> timedelta:
        return timedelta(**{self.delay_unit: self.delay})


class LeadImport(Job):
    """One CSV upload of leads: its progress, its counts and the report of bad rows."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="lead_imports"
    )
    lead_list = models.ForeignKey(
        LeadList,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="imports",
    )
    filename = models.CharField(max_length=255, blank=True)
    # Where the uploaded file waits for the worker (under VAR_DIR/imports).
    source_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    rows_imported = models.PositiveIntegerField(default=0)
    rows_created = models.PositiveIntegerField(default=0)
    rows_failed = models.PositiveIntegerField(default=0)
    # [{"row": 7, "value": "555-12", "reason": "invalid number"}, ...], capped.
    errors = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.filename or 'a file'} ({self.status})"

    @property
    def rows_updated(self) -> int:
        """Leads the file changed that the account already had."""
        return self.rows_imported - self.rows_created

    @property
    def summary(self) -> str:
        """What the import did, in words: "Imported 5 leads: 1 new, 4 updated."."""
        parts = [
            f"{n} {word}"
            for n, word in ((self.rows_created, "new"), (self.rows_updated, "updated"))
            if n
        ]
        leads = ngettext("%(n)d lead", "%(n)d leads", self.rows_imported) % {
            "n": self.rows_imported
        }
        done = f"{leads}: {', '.join(parts)}" if parts else "no leads"
        if self.status == self.Status.FAILED:
            text = f"Failed after importing {done}."
        elif self.status == self.Status.DONE:
            text = f"Imported {done}." if parts else "No leads imported."
        else:
            text = f"Imported {done} so far."
        if self.rows_failed:
            text += " " + ngettext(
                "%(n)d row not imported.", "%(n)d rows not imported.", self.rows_failed
            ) % {"n": self.rows_failed}
        return text
