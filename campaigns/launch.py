"""Launch: validate a campaign, then fan its leads out into messages in bulk."""

import re
import string
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Exists, Field, OuterRef, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Lead, full_name
from messaging.catalog import portal_error
from messaging.dispatch import message_validity_end, messages_enqueue
from messaging.models import Message, OptOut
from messaging.outbound import MAX_BODY_CHARS
from messaging.segments import segment_count
from messaging.statuses import Status
from portal.phones import phone_is_valid

# Leads per transaction: one batch is in memory at a time and a crash costs at
# most one batch's work. On 200k leads, batches of 2000 took three times the
# server CPU of 5000 in their queries, and at 20000 PostgreSQL planned a scan of
# every membership. bulk_create splits a batch further for SQLite's limit.
FANOUT_BATCH_SIZE = 5000
STANDARD_FIELDS = {"first_name", "last_name", "name", "phone"}
LINK = re.compile(
    r"https?://|www\.|\b[a-z0-9-]+\.(com|org|net|ly|io|co)\b", re.IGNORECASE
)
# US carriers forbid gambling and the SHAFT topics (sex, hate, alcohol, firearms, tobacco).
PROHIBITED = re.compile(
    r"\b(casino|bet|betting|gambl\w*|poker|lottery|sweepstakes|sex|xxx|porn\w*|hate|alcohol|"
    r"beer|wine|vodka|liquor|firearms?|guns?|rifles?|ammo|tobacco|cigar\w*|vap\w*|cannabis|"
    r"marijuana|weed|cbd)\b",
    re.IGNORECASE,
)
MISSING_LEADS_SHOWN = 5
# Sending may start before the fan-out ends (the requeue sweep picks up queued
# messages after two minutes), so an in-progress campaign still fans out.
FANNING_OUT = (Campaign.State.PROCESSING, Campaign.State.IN_PROGRESS)


class LaunchRefused(Exception):
    """The campaign cannot be launched as it is, or needs its warnings confirmed."""

    def __init__(self, problems: list[str], warnings: list[str]) -> None:
        super().__init__("; ".join(problems or warnings))
        self.problems = problems
        self.warnings = warnings


@dataclass
class LaunchPreview:
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    leads: int = 0
    segments: int = 0
    credit_needed: int = 0


def template_fields(body: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(body) if name}


class BodyRenderer:
    """A campaign body parsed once and filled in per lead: the fan-out renders millions."""

    def __init__(self, body: str, defaults: dict[str, str]) -> None:
        self.body = body
        self.fields = template_fields(body)
        self.defaults = defaults

    def render(
        self, *, first_name: str, last_name: str, phone: str, custom: dict
    ) -> str | None:
        """Fill the lead's fields in; None when a field has neither a value nor a default.

        A lead's own name and phone win, then its custom fields, then the defaults;
        an empty value counts as missing.
        """
        standard = {
            "first_name": first_name,
            "last_name": last_name,
            "name": full_name(first_name, last_name),
            "phone": phone,
        }
        values = {}
        for name in self.fields:
            value = standard.get(name)
            if not value:
                raw = custom.get(name)
                if raw not in ("", None):
                    value = str(raw)
                elif name in self.defaults:
                    value = self.defaults[name]
                else:
                    return None
            values[name] = value
        return self.body.format_map(values)


def _target_leads(campaign_id: int, *, after: int = 0) -> QuerySet[Lead]:
    """The leads of any of the campaign's lists, each once (EXISTS: no DISTINCT sort).

    `after` (a lead id) also bounds the memberships read: the fan-out's batches
    then each start where the last one stopped instead of from the first lead.
    """
    membership = Lead.lists.through.objects.filter(
        lead_id=OuterRef("pk"), leadlist__campaigns=campaign_id, lead_id__gt=after
    )
    return Lead.objects.filter(Exists(membership))


def campaign_preview(*, campaign_id: int) -> LaunchPreview:
    """Say what is wrong, what deserves a second look, and what the launch will cost."""
    campaign = Campaign.objects.select_related("sender", "account").get(pk=campaign_id)
    preview = LaunchPreview()
    if not campaign.can_launch():
        preview.problems.append(
            f"The campaign is {campaign.get_state_display()}, not a draft."
        )
    if campaign.sender is None:
        preview.problems.append("Choose a sender: the campaign has none.")
    if not campaign.body.strip():
        preview.problems.append("Write the message: the body is empty.")
    elif len(campaign.body) > MAX_BODY_CHARS:
        preview.problems.append(
            f"The message is {len(campaign.body)} characters; providers accept at most "
            f"{MAX_BODY_CHARS}."
        )
    try:
        fields = template_fields(campaign.body)
    except ValueError:
        preview.problems.append(
            "The message has an unmatched { or }: write {{ or }} for a brace."
        )
        return preview
    leads = _target_leads(campaign.pk).filter(deleted_at__isnull=True)
    renderer = BodyRenderer(campaign.body, campaign.field_defaults)
    known = STANDARD_FIELDS | set(campaign.field_defaults)
    missing: list[str] = []
    custom_seen: set[str] = set()
    us_numbers = False
    # Plain tuples, not model instances: the check reads every lead of the launch.
    rows = leads.values_list("phone", "first_name", "last_name", "fields")
    for phone, first_name, last_name, custom in rows.iterator(
        chunk_size=FANOUT_BATCH_SIZE
    ):
        custom_seen |= custom.keys()
        rendered = renderer.render(
            first_name=first_name, last_name=last_name, phone=phone, custom=custom
        )
        if rendered is None:
            missing.append(full_name(first_name, last_name) or phone)
            continue
        preview.leads += 1
        preview.segments += segment_count(rendered).segments
        us_numbers = us_numbers or phone.startswith("+1")
    unknown = fields - known - custom_seen
    if unknown:
        preview.problems.append(
            "Unknown fields in the message: "
            + ", ".join(f"{{{f}}}" for f in sorted(unknown))
            + ". Use first_name, last_name, name, phone or a field your leads have."
        )
    elif missing:
        shown = ", ".join(missing[:MISSING_LEADS_SHOWN])
        more = (
            f" and {len(missing) - MISSING_LEADS_SHOWN} more"
            if len(missing) > 5
            else ""
        )
        preview.problems.append(
            f"{len(missing)} lead(s) lack a field the message uses ({shown}{more}): fill it in "
            "or declare a default for it."
        )
    if preview.leads == 0 and not missing:
        preview.problems.append("The campaign's lists have no leads.")
    preview.credit_needed = preview.segments
    if preview.segments > campaign.account.credit_balance:
        preview.problems.append(
            f"Not enough credit: this needs about {preview.segments} segments and the account "
            f"has {campaign.account.credit_balance}."
        )
    if LINK.search(campaign.body):
        preview.warnings.append(
            "The message contains a link; carriers' spam filters often block messages with links."
        )
    if us_numbers and PROHIBITED.search(campaign.body):
        preview.warnings.append(
            "The message mentions a topic US carriers prohibit (gambling, sex, hate, alcohol, "
            "firearms or tobacco); such messages are usually blocked."
        )
    return preview


def campaign_launch(
    *, campaign_id: int, launched_by, confirm_warnings: bool = False
) -> Campaign:
    """Validate, then move the campaign to processing and queue the fan-out."""
    preview = campaign_preview(campaign_id=campaign_id)
    if preview.problems or (preview.warnings and not confirm_warnings):
        raise LaunchRefused(
            preview.problems, [] if confirm_warnings else preview.warnings
        )
    from campaigns.tasks import fan_out_campaign_task

    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign_id, state=Campaign.State.DRAFT
        ).update(
            state=Campaign.State.PROCESSING,
            launched_by=launched_by,
            launched_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if not changed:
            raise LaunchRefused(
                ["The campaign was launched or canceled meanwhile."], []
            )
        transaction.on_commit(lambda: fan_out_campaign_task.delay(campaign_id))
    return Campaign.objects.get(pk=campaign_id)


class MessageRows:
    """Turns streamed leads into message rows, the columns in the order of `fields`.

    Both writers share it: rendering and the reason to reject are decided here,
    once per lead, on plain tuples rather than model instances.
    """

    # What varies per lead; every other column is the same for the whole campaign.
    PER_LEAD = (
        "uuid",
        "lead_id",
        "phone",
        "body",
        "segments",
        "status",
        "error_id",
        "final_at",
    )

    def __init__(self, campaign: Campaign, now: datetime) -> None:
        self.renderer = BodyRenderer(campaign.body, campaign.field_defaults)
        shared = {
            "created_at": now,
            "updated_at": now,
            "account_id": campaign.account_id,
            "campaign_id": campaign.pk,
            "sender_id": campaign.sender_id,
            "provider": campaign.sender.provider,
            "expires_at": message_validity_end(
                account=campaign.account, hours=campaign.validity_hours, now=now
            ),
        }
        # Every other column takes its model default, so a column added to
        # Message later is written too.
        columns = [
            field
            for field in Message._meta.concrete_fields
            if not field.primary_key and field.attname not in self.PER_LEAD
        ]
        self.fields = columns + [Message._meta.get_field(n) for n in self.PER_LEAD]
        self.shared = tuple(
            shared[f.attname] if f.attname in shared else f.get_default()
            for f in columns
        )
        self.outcomes = {None: (Status.QUEUED, None, None)} | {
            reason: (Status.REJECTED, portal_error(reason).pk, now)
            for reason in ("invalid_number", "opted_out", "suppressed")
        }

    def rows(self, leads: Iterable[tuple]) -> Iterator[tuple]:
        for (
            lead_id,
            phone,
            checked,
            first,
            last,
            custom,
            suppressed,
            opted_out,
        ) in leads:
            body = (
                self.renderer.render(
                    first_name=first, last_name=last, phone=phone, custom=custom
                )
                or self.renderer.body
            )
            reason = (
                "invalid_number"
                # A number checked when the lead was written is not checked again.
                if phone != checked and not phone_is_valid(phone)
                else "opted_out"
                if opted_out
                else "suppressed"
                if suppressed
                else None
            )
            yield (
                *self.shared,
                uuid.uuid4(),
                lead_id,
                phone,
                body,
                segment_count(body).segments,
                *self.outcomes[reason],
            )


def _has_message(campaign_id: int, *, after: int = 0) -> Exists:
    return Exists(
        Message.objects.filter(
            campaign_id=campaign_id, lead=OuterRef("pk"), lead_id__gt=after
        )
    )


def _leads_to_fan_out(campaign: Campaign, *, after: int) -> QuerySet[Lead]:
    """The campaign's live leads after `after` that have no message in it yet, in id order."""
    opted_out = OptOut.objects.filter(
        account_id=campaign.account_id, phone=OuterRef("phone")
    )
    return (
        _target_leads(campaign.pk, after=after)
        .filter(
            ~_has_message(campaign.pk, after=after),
            pk__gt=after,
            deleted_at__isnull=True,
        )
        .annotate(opted_out=Exists(opted_out))
        .order_by("pk")
        .values_list(
            "pk",
            "phone",
            "checked_phone",
            "first_name",
            "last_name",
            "fields",
            "suppressed_at",
            "opted_out",
        )
    )


def _messages_copy(fields: list[Field], rows: Iterable[tuple]) -> None:
    """Write the rows with binary COPY: 10x bulk_create on PostgreSQL (ARCHITECTURE 9)."""
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(Message._meta.db_table)
    with connection.cursor() as cursor:
        # Until the batch commits: check the foreign keys row by row while the
        # rows stream in, on the server's core as this one renders, rather than
        # all at the commit while this one waits; and do not wait for the disk
        # at the commit: a batch lost to a crash is written again by the re-run,
        # and the campaign's final update commits durably, flushing every batch.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL synchronous_commit = off")
        with cursor.cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)"
        ) as copy:
            # "varchar(16)" -> "varchar": binary COPY needs each column's type.
            copy.set_types([f.db_type(connection).split("(")[0] for f in fields])
            for row in rows:
                copy.write_row(row)


def _messages_bulk_create(fields: list[Field], rows: Iterable[tuple]) -> None:
    """Write the rows with bulk_create: SQLite has no COPY."""
    names = [f.attname for f in fields]
    Message.objects.bulk_create(
        [Message(**dict(zip(names, row, strict=True))) for row in rows],
        ignore_conflicts=True,
    )


def campaign_fan_out(*, campaign_id: int) -> int:
    """Create one message per lead of the campaign; rejected ones carry their reason.

    A batch of leads per transaction: a crash keeps the batches written, and a
    re-run (or a second worker) takes only the leads still without a message,
    so the fan-out is idempotent and resumable. Only one batch of leads is in
    memory at a time, and its rows stream to the writer. Each batch's queued
    messages are handed to the dispatch queue as it commits; returns how many.
    """
    campaign = Campaign.objects.select_related("account", "sender").get(pk=campaign_id)
    if campaign.state not in FANNING_OUT:
        return 0
    now = timezone.now()
    messages = MessageRows(campaign, now)
    write = (
        _messages_copy if connection.vendor == "postgresql" else _messages_bulk_create
    )
    after = count = 0
    while True:
        with transaction.atomic():
            # The campaign's row lock makes two runs of one fan-out take turns,
            # each seeing the other's messages, and a cancel wait for the batch.
            running = Campaign.objects.select_for_update().filter(
                pk=campaign_id, state__in=FANNING_OUT
            )
            if not running.exists():
                return 0
            leads = list(_leads_to_fan_out(campaign, after=after)[:FANOUT_BATCH_SIZE])
            if not leads:
                break
            write(messages.fields, messages.rows(leads))
            # Sending starts as each batch commits, not after the last one. A
            # run that dies before its commit hook leaves queued messages that
            # the requeue sweep sends; the batch range also takes those left by
            # an earlier run that died.
            queued = list(
                Message.objects.filter(
                    campaign_id=campaign_id,
                    lead_id__gt=after,
                    lead_id__lte=leads[-1][0],
                    status=Status.QUEUED,
                ).values_list("pk", flat=True)
            )
            messages_enqueue(message_ids=queued)
            count += len(queued)
        after = leads[-1][0]
    deleted = (
        _target_leads(campaign_id)
        .filter(deleted_at__isnull=False)
        .exclude(_has_message(campaign_id))
        .count()
    )
    Campaign.objects.filter(pk=campaign_id).update(
        fanned_out_at=now, deleted_leads=deleted, updated_at=now
    )
    return count
