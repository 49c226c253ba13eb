"""Fan-out: turn a launched campaign's leads into messages in bulk, resumably."""

import string
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.db.models import Exists, Field, OuterRef, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Lead, full_name
from messaging.catalog import portal_error
from messaging.dispatch import message_validity_end, messages_enqueue
from messaging.models import Message, OptOut
from messaging.segments import segment_count
from messaging.statuses import Status
from portal.phones import phone_is_valid
from portal.publishing import task_publish_on_commit

# Leads per transaction: one batch is in memory at a time and a crash costs at
# most one batch's work. On 200k leads, batches of 2000 took three times the
# server CPU of 5000 in their queries, and at 20000 PostgreSQL planned a scan of
# every membership. bulk_create splits a batch further for SQLite's limit.
FANOUT_BATCH_SIZE = 5000
# A fan-out whose campaign row has not moved for this long never started (its
# task was lost with the broker) or lost its worker: publish it again. A batch
# takes seconds, so a live fan-out touches the row far more often.
FANOUT_STALLED_AFTER = timedelta(minutes=2)


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


def campaign_target_leads(campaign_id: int, *, after: int = 0) -> QuerySet[Lead]:
    """The leads of any of the campaign's lists, each once (EXISTS: no DISTINCT sort).

    `after` (a lead id) also bounds the memberships read: the fan-out's batches
    then each start where the last one stopped instead of from the first lead.
    """
    membership = Lead.lists.through.objects.filter(
        lead_id=OuterRef("pk"), leadlist__campaigns=campaign_id, lead_id__gt=after
    )
    return Lead.objects.filter(Exists(membership))


def lead_reject_reason(
    *, phone: str, checked: str, opted_out: bool, suppressed: object
) -> str | None:
    """Why a live lead's message is rejected (a portal error code), or None to send it."""
    # A number checked when the lead was written is not checked again.
    if phone != checked and not phone_is_valid(phone):
        return "invalid_number"
    if opted_out:
        return "opted_out"
    if suppressed:
        return "suppressed"
    return None


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
        "recipient_zone",
    )

    def __init__(
        self, campaign: Campaign, now: datetime, *, step: int = 1, body: str = ""
    ) -> None:
        self.renderer = BodyRenderer(body or campaign.body, campaign.field_defaults)
        shared = {
            "created_at": now,
            "updated_at": now,
            "account_id": campaign.account_id,
            "campaign_id": campaign.pk,
            "step": step,
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
        self._updated_at = [f.attname for f in columns].index("updated_at")
        self.outcomes = {None: (Status.QUEUED, None, None)} | {
            reason: (Status.REJECTED, portal_error(reason).pk, now)
            for reason in ("invalid_number", "opted_out", "suppressed")
        }

    def stamp(self, now: datetime) -> None:
        """Stamp the next rows' updated_at: each batch with the time it is written.

        A change feed must not see a late batch carry the time the fan-out
        began, older than rows it has already shown (portal/api/feed.py).
        """
        shared = list(self.shared)
        shared[self._updated_at] = now
        self.shared = tuple(shared)

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
            time_zone,
        ) in leads:
            body = (
                self.renderer.render(
                    first_name=first, last_name=last, phone=phone, custom=custom
                )
                or self.renderer.body
            )
            reason = lead_reject_reason(
                phone=phone, checked=checked, opted_out=opted_out, suppressed=suppressed
            )
            yield (
                *self.shared,
                uuid.uuid4(),
                lead_id,
                phone,
                body,
                segment_count(body).segments,
                *self.outcomes[reason],
                # The lead's own zone for quiet hours; blank: its number's.
                time_zone,
            )


def has_step_message(campaign_id: int, step: int, *, after: int = 0) -> Exists:
    """Whether the outer lead has a message (any attempt) of the campaign's step."""
    return Exists(
        Message.objects.filter(
            campaign_id=campaign_id, lead=OuterRef("pk"), step=step, lead_id__gt=after
        )
    )


def lead_rows(leads: QuerySet[Lead], *, account_id: int) -> QuerySet:
    """The live leads as MessageRows reads them, in id order."""
    opted_out = OptOut.objects.filter(account_id=account_id, phone=OuterRef("phone"))
    return (
        leads.filter(deleted_at__isnull=True)
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
            "time_zone",
        )
    )


def leads_to_fan_out(campaign: Campaign, *, after: int) -> QuerySet:
    """The campaign's live leads after `after` that have no first message yet, in id order."""
    return lead_rows(
        campaign_target_leads(campaign.pk, after=after).filter(
            ~has_step_message(campaign.pk, 1, after=after), pk__gt=after
        ),
        account_id=campaign.account_id,
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


def messages_fan_out(
    campaign: Campaign,
    *,
    messages: MessageRows,
    leads_after: Callable[[int], QuerySet],
    claim: Callable[[], bool],
    step: int = 1,
) -> int:
    """Write a message per lead that `leads_after(after=)` yields, a batch per transaction.

    `claim` runs first in each batch's transaction: it locks the campaign's
    row and says whether to go on. The lock makes two runs take turns, each
    seeing the other's messages, and a cancel wait for the batch; so a crash
    keeps the batches written and a re-run takes only the leads still without
    a message. Only one batch of leads is in memory at a time, and its rows
    stream to the writer. Each batch's queued messages are handed to the
    dispatch queue as it commits; returns how many (0 once `claim` refuses).
    """
    write = (
        _messages_copy if connection.vendor == "postgresql" else _messages_bulk_create
    )
    after = count = 0
    while True:
        with transaction.atomic():
            if not claim():
                return 0  # canceled meanwhile: nothing more goes out
            leads = list(leads_after(after=after)[:FANOUT_BATCH_SIZE])
            if not leads:
                return count
            messages.stamp(timezone.now())
            write(messages.fields, messages.rows(leads))
            # Sending starts as each batch commits, not after the last one. A
            # run that dies before its commit hook leaves queued messages that
            # the requeue sweep sends; the batch range also takes those left by
            # an earlier run that died.
            # The status is checked here, not in the WHERE: with statistics
            # taken when little was queued, PostgreSQL would read the queued
            # messages' index whole for each batch (msg_queued_expires) rather
            # than the batch's range of msg_unique_lead_step_attempt.
            queued = [
                pk
                for pk, status in Message.objects.filter(
                    campaign_id=campaign.pk,
                    lead_id__gt=after,
                    lead_id__lte=leads[-1][0],
                    step=step,
                ).values_list("pk", "status")
                if status == Status.QUEUED
            ]
            messages_enqueue(message_ids=queued)
            count += len(queued)
        after = leads[-1][0]


def campaign_fan_out(*, campaign_id: int) -> int:
    """Create one first message per lead of the campaign; rejected ones carry their reason.

    Idempotent and resumable (messages_fan_out); returns the queued messages.
    """
    campaign = Campaign.objects.select_related("account", "sender").get(pk=campaign_id)
    if not campaign.is_running():
        return 0
    now = timezone.now()

    def claim() -> bool:
        # Its updated_at shows the sweep that the fan-out is moving. A run
        # the sweep published again may come after the first one ended: it
        # must not add leads that joined since.
        return bool(
            Campaign.objects.filter(
                pk=campaign_id, state__in=Campaign.RUNNING, fanned_out_at__isnull=True
            ).update(updated_at=timezone.now())
        )

    count = messages_fan_out(
        campaign,
        messages=MessageRows(campaign, now),
        leads_after=partial(leads_to_fan_out, campaign),
        claim=claim,
    )
    Campaign.objects.filter(
        pk=campaign_id, state__in=Campaign.RUNNING, fanned_out_at__isnull=True
    ).update(fanned_out_at=now, updated_at=now)
    return count


def campaigns_resume_fan_outs(*, now: datetime | None = None) -> int:
    """Publish again the fan-outs that made no progress lately; return how many.

    The outbox's sweep: a launch commits before its fan-out is published, so
    a broker outage or a lost task leaves the campaign "Being processed" with
    its work recorded; this hands it to a worker again. Runs of one fan-out
    take turns on the campaign's row, so a duplicate costs nothing.
    """
    from campaigns.tasks import fan_out_campaign_task

    now = now or timezone.now()
    with transaction.atomic():
        stalled = list(
            Campaign.objects.filter(
                state__in=Campaign.RUNNING,
                fanned_out_at__isnull=True,
                updated_at__lt=now - FANOUT_STALLED_AFTER,
            ).values_list("pk", flat=True)
        )
        # The next publish waits another stall period.
        Campaign.objects.filter(pk__in=stalled).update(updated_at=now)
        for campaign_id in stalled:
            task_publish_on_commit(fan_out_campaign_task, campaign_id)
    return len(stalled)
