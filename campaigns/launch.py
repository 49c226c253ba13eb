"""Launch: validate a campaign, then fan its leads out into messages in bulk."""

import re
import string
from dataclasses import dataclass, field

import phonenumbers

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from campaigns.models import Campaign, Lead
from messaging.catalog import portal_error
from messaging.dispatch import message_validity_end, messages_enqueue
from messaging.models import Message, OptOut
from messaging.segments import segment_count
from messaging.statuses import Status

MAX_BODY_CHARS = 1600  # Twilio's limit (error 21617); the strictest of our providers
FANOUT_BATCH_SIZE = (
    2000  # rows per INSERT: memory stays flat, SQLite's variable limit holds
)
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


def _values(lead: Lead, defaults: dict[str, str]) -> dict[str, str]:
    values = {
        **defaults,
        **{k: str(v) for k, v in lead.fields.items() if v not in ("", None)},
    }
    standard = {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "name": lead.name,
        "phone": lead.phone,
    }
    values |= {key: value for key, value in standard.items() if value}
    return values


def body_render(body: str, lead: Lead, defaults: dict[str, str]) -> str | None:
    """Fill the lead's fields in; None when a field has neither a value nor a default."""
    values = _values(lead, defaults)
    if not template_fields(body) <= values.keys():
        return None
    return body.format_map(values)


def _target_leads(campaign: Campaign):
    return Lead.objects.filter(lists__campaigns=campaign).distinct()


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
    leads = _target_leads(campaign).filter(deleted_at__isnull=True)
    known = STANDARD_FIELDS | set(campaign.field_defaults)
    missing: list[str] = []
    custom_seen: set[str] = set()
    us_numbers = False
    for lead in leads.iterator(chunk_size=FANOUT_BATCH_SIZE):
        custom_seen |= lead.fields.keys()
        rendered = body_render(campaign.body, lead, campaign.field_defaults)
        if rendered is None:
            missing.append(lead.name or lead.phone)
            continue
        preview.leads += 1
        preview.segments += segment_count(rendered).segments
        us_numbers = us_numbers or lead.phone.startswith("+1")
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


def _valid_phone(phone: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return False


def campaign_fan_out(*, campaign_id: int) -> int:
    """Create one message per lead of the campaign; rejected ones carry their reason.

    Idempotent and resumable: the unique (campaign, lead, attempt) lets a re-run
    insert only what is missing. Leads are streamed, so memory stays flat.
    """
    campaign = Campaign.objects.select_related("account", "sender").get(pk=campaign_id)
    if campaign.state != Campaign.State.PROCESSING:
        return 0
    now = timezone.now()
    expires_at = message_validity_end(
        account=campaign.account, hours=campaign.validity_hours, now=now
    )
    errors = {
        code: portal_error(code)
        for code in ("invalid_number", "opted_out", "suppressed")
    }
    leads = _target_leads(campaign).annotate(
        opted_out=Exists(
            OptOut.objects.filter(
                account_id=campaign.account_id, phone=OuterRef("phone")
            )
        )
    )
    deleted = 0
    batch: list[Message] = []
    for lead in leads.order_by("pk").iterator(chunk_size=FANOUT_BATCH_SIZE):
        if lead.deleted_at is not None:
            deleted += 1
            continue
        body = (
            body_render(campaign.body, lead, campaign.field_defaults) or campaign.body
        )
        reason = (
            "invalid_number"
            if not _valid_phone(lead.phone)
            else "opted_out"
            if lead.opted_out
            else "suppressed"
            if lead.suppressed_at
            else None
        )
        batch.append(
            Message(
                account_id=campaign.account_id,
                campaign_id=campaign.pk,
                lead_id=lead.pk,
                sender_id=campaign.sender_id,
                phone=lead.phone,
                body=body,
                segments=segment_count(body).segments,
                provider=campaign.sender.provider,
                status=Status.REJECTED if reason else Status.QUEUED,
                error=errors[reason] if reason else None,
                final_at=now if reason else None,
                expires_at=expires_at,
                created_at=now,
            )
        )
        if len(batch) >= FANOUT_BATCH_SIZE:
            Message.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Message.objects.bulk_create(batch, ignore_conflicts=True)
    Campaign.objects.filter(pk=campaign_id).update(
        fanned_out_at=now, deleted_leads=deleted, updated_at=now
    )
    queued = list(
        Message.objects.filter(campaign_id=campaign_id, status=Status.QUEUED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    messages_enqueue(message_ids=queued)
    return len(queued)
