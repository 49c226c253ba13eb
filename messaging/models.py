"""Messages, their events, senders, opt-outs and the error catalog."""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from messaging.statuses import FINAL, Status
from portal.models import Job, TimeStampedModel


class ErrorCode(models.Model):
    """One catalog entry: what a provider's error code means and what to do about it.

    Loaded from messaging/catalog/errors.csv; codes seen in the wild that the
    file lacks are added with known=False so that they still explain themselves.
    """

    class Category(models.TextChoices):
        OPT_OUT = "opt_out", "Opted out"
        INVALID_NUMBER = "invalid_number", "Invalid number"
        LANDLINE = "landline_or_unreachable_carrier", "Landline or unreachable carrier"
        UNREACHABLE = "unreachable_temporary", "Temporarily unreachable"
        SPAM = "spam_or_content", "Spam or content filter"
        CARRIER_VIOLATION = "carrier_violation", "Carrier rules"
        ACCOUNT = "account_or_config", "Account or configuration"
        QUEUE = "queue_or_expired", "Queue or expiry"
        PLATFORM = "platform_internal", "Platform fault"
        UNKNOWN = "unknown", "Unknown"

    class NumberAdvice(models.TextChoices):
        KEEP = "keep", "Keep the number"
        REMOVE = "remove", "Remove or update the number"
        OPTED_OUT = "opted_out", "The person opted out"

    provider = models.CharField(max_length=20)
    code = models.CharField(max_length=40)
    title = models.CharField(max_length=120)
    aliases = models.JSONField(default=list, blank=True)
    meaning = models.TextField()
    resolution = models.TextField()
    category = models.CharField(max_length=40, choices=Category.choices)
    temporary = models.BooleanField()
    billable = models.BooleanField()
    number_advice = models.CharField(max_length=10, choices=NumberAdvice.choices)
    status = models.CharField(max_length=12, choices=Status.choices)
    known = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider", "code"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "code"], name="errorcode_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.code}: {self.title}"


class Brand(TimeStampedModel):
    """A business registered for 10DLC with The Campaign Registry: T-Mobile caps its texts a day.

    The cap counts every sender of the brand together and resets at midnight
    Pacific time (messaging/throughput.py).
    """

    class Tier(models.TextChoices):
        # T-Mobile's daily caps by the brand's vetting score.
        TOP = "top", "Vetting score 75-100: 200,000 a day"
        HIGH = "high", "Vetting score 50-74: 40,000 a day"
        MIDDLE = "middle", "Vetting score 25-49: 10,000 a day"
        LOW = "low", "Unvetted or score below 25: 2,000 a day"

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="brands"
    )
    name = models.CharField(max_length=100)
    tier = models.CharField(max_length=8, choices=Tier.choices, default=Tier.LOW)
    daily_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Texts a day over all its senders; blank: the tier's cap.",
    )
    # The day's count, shared by every worker: moved under this row's lock.
    day = models.DateField(null=True, blank=True, editable=False)
    sent_on_day = models.PositiveIntegerField(default=0, editable=False)

    def __str__(self) -> str:
        return self.name


class Sender(TimeStampedModel):
    """A number or messaging profile at one provider, with its credentials."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="senders"
    )
    name = models.CharField(max_length=100, blank=True)
    provider = models.CharField(max_length=20)
    phone_number = models.CharField(max_length=16, help_text="E.164, e.g. +15551234567")
    # Encrypted JSON of the provider's credentials; never shown again in full.
    credentials_encrypted = models.TextField(blank=True, editable=False)
    throughput_per_second = models.PositiveSmallIntegerField(
        default=10,
        help_text="Messages per second this sender may send, over all workers.",
    )
    # AT&T's 10DLC message class of the campaign this sender is registered
    # for: it sets the texts a minute (messaging/throughput.py).
    message_class = models.CharField(
        max_length=1,
        blank=True,
        choices=[
            ("A", "A: dedicated use case, vetting 75-100 (4,500 a minute)"),
            ("B", "B: mixed or marketing, vetting 75-100 (4,500 a minute)"),
            ("C", "C: dedicated use case, vetting 50-74 (2,400 a minute)"),
            ("D", "D: mixed or marketing, vetting 50-74 (2,400 a minute)"),
            ("E", "E: dedicated use case, vetting 1-49 (240 a minute)"),
            ("F", "F: mixed or marketing, vetting 1-49 (240 a minute)"),
            ("T", "T: low volume mixed (75 a minute)"),
        ],
        help_text="The 10DLC campaign's AT&T message class; blank: not 10DLC, "
        "no limit a minute.",
    )
    per_minute_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Texts a minute; blank: the message class's."
    )
    brand = models.ForeignKey(
        Brand,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="senders",
        help_text="Its 10DLC brand, whose daily cap it shares.",
    )
    reply_share_percent = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="Share of the throughput kept for replies and one-off messages, "
        "so they never wait behind a campaign.",
    )
    provider_confirms_opt_out = models.BooleanField(
        default=False,
        help_text="The provider already texts an opt-out confirmation; do not send ours.",
    )
    is_active = models.BooleanField(default=True)
    # The throughput limit shared by every worker: each batch reserves its
    # slots by moving these forward under a row lock, campaigns' on one lane
    # and replies' and one-off messages' on the other.
    next_send_at = models.DateTimeField(null=True, blank=True, editable=False)
    next_priority_send_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "provider", "phone_number"],
                name="sender_unique_number",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.phone_number} ({self.provider})"


class Message(TimeStampedModel):
    """One SMS, outbound or inbound: canonical status, the provider's word, and the error."""

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Hold(models.TextChoices):
        # Why a queued message waits until next_attempt_at (messaging/holds.py).
        NONE = "", "Not held"
        QUIET_HOURS = "quiet_hours", "Held: quiet hours"
        DAILY_LIMIT = "daily_limit", "Held: daily limit"

    # Every index below is written by each fan-out row and, as a status change
    # is never a HOT update, by each claim and receipt too: each one is here
    # for a query the product runs, named beside it with its plan on a table
    # of 10M messages (bench/scale.py; bench/README.md has the EXPLAINs).
    # Foreign keys a composite index starts with, or that only a delete of the
    # row they point at would read (error codes, senders and messages are
    # never deleted; a sender is deactivated), have no index of their own.
    #
    # created_at: the SMS log reads it through msg_account_created_id; nothing
    # reads it across accounts (the support site pages by id).
    created_at = models.DateTimeField(default=timezone.now)
    # Receipts that carry our uuid (receipts_apply), the support site's search.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    account = models.ForeignKey(
        "portal.Account",
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,  # msg_account_created_id starts with it
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,  # msg_campaign_status starts with it
    )
    # Indexed: a lead's latest error (lead_list_for_api), the lead's messages.
    lead = models.ForeignKey(
        "campaigns.Lead",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
    )
    sender = models.ForeignKey(
        Sender,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,
    )
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    phone = models.CharField(max_length=16, help_text="The lead's number, E.164.")
    body = models.TextField()
    segments = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    provider = models.CharField(max_length=20, blank=True)
    # NULL until the provider answers: many unsent rows must not collide in the unique index.
    provider_message_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    provider_status = models.CharField(max_length=40, blank=True)
    error = models.ForeignKey(
        ErrorCode,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="messages",
        db_index=False,
    )
    billed = models.BooleanField(default=False, help_text="Its segments were charged.")
    # The campaign step this message is (1 for the first text and one-offs).
    step = models.PositiveSmallIntegerField(default=1)
    attempt = models.PositiveSmallIntegerField(default=1)
    send_tries = models.PositiveSmallIntegerField(
        default=0,
        help_text="Provider calls made for this attempt (temporary failures retry).",
    )
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="retries",
        db_index=False,
    )
    # A resend creates a new attempt; the old one keeps its history but stops counting.
    superseded = models.BooleanField(default=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    hold = models.CharField(max_length=12, choices=Hold.choices, blank=True)
    # The lead's own zone when it names one; blank: the number's (quiet_hours.py).
    recipient_zone = models.CharField(max_length=64, blank=True)
    # Off for the answers to HELP and STOP: they must go at once, at any hour.
    quiet_hours = models.BooleanField(default=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    final_at = models.DateTimeField(null=True, blank=True)
    # The destination's carrier, when the provider names it (Telnyx's to[].carrier);
    # nullable so that adding it did not rewrite the table.
    carrier = models.CharField(max_length=60, null=True, blank=True)  # noqa: DJ001

    class Meta:
        indexes = [
            # A campaign's messages by status: the drill-down, cancel (queued),
            # resend and suppress, the close sweep's grouped read.
            models.Index(fields=["campaign", "status"], name="msg_campaign_status"),
            # The SMS log's order: a fan-out gives thousands of messages one
            # created_at, so the id must be in the index for a page to stop early.
            models.Index(
                fields=["account", "created_at", "id"], name="msg_account_created_id"
            ),
            # The change feed's order (?updated_after=, portal/api/feed.py).
            models.Index(
                fields=["account", "updated_at", "id"], name="msg_feed_account_updated"
            ),
            # A lead's history: every message to and from its number.
            models.Index(fields=["account", "phone"], name="msg_account_phone"),
            # The inbox (campaigns.replies.inbox_list): an account's texts
            # received, newest first; partial, as inbound messages are few
            # among the campaigns' millions and the SMS log's index would
            # read every outbound one to find them.
            models.Index(
                fields=["account", "created_at", "id"],
                condition=Q(direction="inbound"),
                name="msg_inbound_account_created",
            ),
            # The sweeps' in-flight messages, partial so that a final message
            # (almost all of them) has no entry: a status change writes at most
            # one of them and they stay small enough to be cached.
            # messages_expire and messages_requeue_due:
            models.Index(
                fields=["expires_at"],
                condition=Q(status=Status.QUEUED),
                name="msg_queued_expires",
            ),
            # Held messages per campaign (campaign_held_counts, the widget):
            # only held ones are in it, however many others are queued.
            models.Index(
                fields=["campaign", "hold"],
                condition=Q(status=Status.QUEUED) & ~Q(hold=""),
                name="msg_held",
            ),
            # messages_release_stuck:
            models.Index(
                fields=["claimed_at"],
                condition=Q(status=Status.SENDING),
                name="msg_sending_claimed",
            ),
            # messages_mark_unknown:
            models.Index(
                fields=["sent_at"],
                condition=Q(status=Status.SENT),
                name="msg_sent_sent_at",
            ),
        ]
        constraints = [
            # Receipts found by the provider's id (receipts_apply, inbound dedup).
            models.UniqueConstraint(
                fields=["provider", "provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="msg_unique_provider_id",
            ),
            # Exactly once per step. Also the fan-out's "lead has a message"
            # and its batch's queued ids, and the step sweep's previous step.
            models.UniqueConstraint(
                fields=["campaign", "lead", "step", "attempt"],
                name="msg_unique_lead_step_attempt",
            ),
            # Also the deleted-leads count (campaigns.selectors._deleted_leads).
            models.UniqueConstraint(
                fields=["campaign", "lead", "step"],
                condition=Q(superseded=False),
                name="msg_one_current_per_lead_step",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=sorted(FINAL)) | Q(final_at__isnull=False),
                name="msg_final_has_final_at",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[Status.SENT, Status.UNKNOWN])
                | Q(sent_at__isnull=False),
                name="msg_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_direction_display()} {self.phone}: {self.get_status_display()}"
        )


class MessageCount(models.Model):
    """Current messages counted per key, as +n/-n rows: a key's count is the sum of its rows.

    Database triggers on messaging_message write the rows (migrations 0004, 0012), so
    every write path is counted: ORM saves, set-based UPDATEs and COPY. Rows are
    only ever inserted (no hot counter row, no lost increment); the squash
    (messaging/counts.py) folds each key's rows into one. Superseded attempts
    are not counted. The keys are plain ids, without foreign-key constraints:
    a count row must never block deleting what it counts.
    """

    account = models.ForeignKey(
        "portal.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    day = models.DateField(help_text="The day (UTC) the messages were created.")
    step = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=12, choices=Status.choices)
    error = models.ForeignKey(
        ErrorCode,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    count = models.IntegerField()

    class Meta:
        indexes = [
            # Bulk Sequences' buckets and errors (campaign_bucket_counts,
            # campaign_error_counts): a page of campaigns' rows at once.
            models.Index(fields=["campaign", "status"], name="msgcount_campaign"),
            # Recent errors: an account's last 7 days (recent_errors_context).
            models.Index(fields=["account", "day"], name="msgcount_account_day"),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.day}: {self.count:+d}"


class OutcomeCount(models.Model):
    """Outbound outcomes counted per minute they happened, as +n/-n rows like MessageCount.

    The delivery monitor and the campaign page's chart read these, never the
    messages. A message counts once it has an outcome (delivered, an error,
    or delivery unknown), in the minute of its final_at (unknown: of the
    sweep that marked it); a receipt also counts how long it took after the
    send, as the band of seconds it fell within. Written by triggers on
    messaging_message (migration 0013), folded by messaging/counts.py.
    """

    account = models.ForeignKey(
        "portal.Account",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    sender = models.ForeignKey(
        Sender,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    minute = models.DateTimeField()
    status = models.CharField(max_length=12, choices=Status.choices)
    error = models.ForeignKey(
        ErrorCode,
        null=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    carrier = models.CharField(max_length=60, blank=True)
    # Receipts only: the upper bound, in seconds, of the band the time from
    # send to receipt fell within (messaging.monitor.RECEIPT_BANDS).
    receipt_within = models.PositiveIntegerField(null=True)
    count = models.IntegerField()

    class Meta:
        indexes = [
            # The monitor's last hour and day of the user's accounts.
            models.Index(fields=["account", "minute"], name="outcome_account_minute"),
            # A campaign page's chart and carriers.
            models.Index(fields=["campaign", "minute"], name="outcome_campaign_minute"),
            # The alert sweep: every account's last hour.
            models.Index(fields=["minute"], name="outcome_minute"),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.minute:%Y-%m-%d %H:%M}: {self.count:+d}"


class MessageEvent(models.Model):
    """Append-only: every status change offered to a message, applied or not, with its payload.

    An event whose message is unknown (a receipt that beat the send call) is
    kept with its provider id so that the send can claim it later. A request
    that was refused or could not be read is kept without a message, with the
    reason in payload["error"], for support.
    """

    class Kind(models.TextChoices):
        SEND = "send", "Handed to provider"
        RECEIPT = "receipt", "Provider receipt"
        INBOUND = "inbound", "Inbound message"
        SWEEP = "sweep", "Periodic sweep"
        PORTAL = "portal", "Portal decision"
        STAFF = "staff", "Staff action"

    # Two to four events per message: as on Message, each index earns its
    # place. Indexed: a message's history (the API's events, the support site).
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    created_at = models.DateTimeField()  # read per message only, never across them
    kind = models.CharField(max_length=8, choices=Kind.choices)
    provider = models.CharField(max_length=20, blank=True)
    provider_message_id = models.CharField(max_length=64, blank=True)
    from_status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, blank=True)
    provider_status = models.CharField(max_length=40, blank=True)
    error = models.ForeignKey(
        ErrorCode,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # error codes are never deleted; nothing reads events by one
    )
    applied = models.BooleanField(default=False)
    occurred_at = models.DateTimeField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # The sender whose webhook URL a request arrived at, on events kept without
    # their message (parked, refused, unreadable): a parked receipt is only
    # ever claimed by a message of that sender's account.
    sender = models.ForeignKey(
        Sender, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [
            # Receipts that beat their send, found when it stores the provider's
            # id (messages_claim_parked_receipts); partial: only those are in it.
            models.Index(
                fields=["provider", "provider_message_id"],
                condition=Q(message__isnull=True),
                name="event_parked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.status or '-'} ({'applied' if self.applied else 'ignored'})"


class WebhookEvent(models.Model):
    """A verified provider request, kept as received until the status worker applies it.

    The webhook view only writes this row and answers, so the provider gets its
    2xx fast; the status task claims rows, applies them and deletes them in one
    transaction, so each is applied once and a worker dying mid-batch loses none.
    """

    sender = models.ForeignKey(
        Sender, on_delete=models.PROTECT, related_name="webhook_events"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # As the provider saw it: callbacks carry our message uuid in its query.
    url = models.TextField()
    body = models.TextField(blank=True)
    form = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Webhook {self.pk} for sender {self.sender_id}"


class OptOut(TimeStampedModel):
    """A number that must not be texted by an account; deleting it opts the number back in."""

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="opt_outs"
    )
    phone = models.CharField(max_length=16)
    source = models.CharField(max_length=12)
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "opt-out"
        constraints = [
            models.UniqueConstraint(fields=["account", "phone"], name="optout_unique"),
        ]
        indexes = [
            # The change feed's order (?updated_after=, portal/api/feed.py).
            models.Index(
                fields=["account", "updated_at", "id"],
                name="optout_feed_account_updated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.phone} opted out ({self.source})"


class OptOutEvent(models.Model):
    """Append-only audit of every opt-out and opt-in: who or what, and why."""

    class Source(models.TextChoices):
        KEYWORD = "keyword", "Keyword texted by the person"
        CARRIER = "carrier", "Carrier or provider error"
        STAFF = "staff", "Staff action"
        IMPORT = "import", "Lead import"
        API = "api", "API"

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="+"
    )
    phone = models.CharField(max_length=16)
    opted_out = models.BooleanField(
        help_text="True for an opt-out, False for an opt-in."
    )
    source = models.CharField(max_length=12, choices=Source.choices)
    detail = models.CharField(max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [models.Index(fields=["account", "phone"], name="optoutevent_phone")]

    def __str__(self) -> str:
        return f"{self.phone} {'out' if self.opted_out else 'in'} ({self.source})"


class MessageExport(Job):
    """A CSV file of messages written by a worker: what it selects, its progress, its file.

    A failure is recorded with its reason; an export whose worker vanished is
    failed by a sweep, so none stays "running" for ever.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Exporting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    account = models.ForeignKey(
        "portal.Account", on_delete=models.PROTECT, related_name="message_exports"
    )
    # The message list's filters by their API names, each a list of values:
    # {"campaign": ["7"], "bucket": ["error"]}.
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.PENDING
    )
    # Under MEDIA_ROOT; served only through the API and the portal, never as media.
    file = models.FileField(upload_to="exports/", blank=True, editable=False)

    class Meta(Job.Meta):
        indexes = [
            models.Index(fields=["status", "updated_at"], name="export_status_updated")
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.get_status_display()})"
