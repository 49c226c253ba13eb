"""Launch: check a campaign, say what is wrong in words, then hand it to the fan-out."""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from campaigns.fan_out import (
    FANOUT_BATCH_SIZE,
    campaign_target_leads,
    lead_reject_reason,
)
from campaigns.hooks import campaign_states_emit
from campaigns.models import Campaign, Lead, full_name
from campaigns.projection import campaign_finish_estimate
from campaigns.step_check import StepTally
from messaging.models import OptOut
from messaging.optouts import HELP_WORDS, OPT_IN_WORDS, OPT_OUT_WORDS
from messaging.segments import NOT_GSM7, segment_count
from portal.audit import audit_record
from portal.models import Account
from portal.publishing import task_publish

# Keywords people are told to text are written in capitals on purpose.
OPT_IN_OUT_KEYWORDS = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS

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
# Carriers block shortened links: the real destination is hidden (CTIA, Twilio).
SHORTENER = re.compile(
    r"\b(bit\.ly|tinyurl\.com|goo\.gl|t\.co|ow\.ly|is\.gd|buff\.ly|rebrand\.ly|"
    r"cutt\.ly|shorturl\.at|tiny\.cc|t\.ly|rb\.gy)\b",
    re.IGNORECASE,
)
FREE = re.compile(r"\bfree\b", re.IGNORECASE)
# The words that tell people how to stop (CTIA asks for it in the first message).
OPT_OUT_WORDING = re.compile(r"\b(stop|unsubscribe|opt[- ]?out)\b", re.IGNORECASE)
SHOUTED = re.compile(r"\b[A-Z]{3,}\b")
SHOUTED_WORDS = 3  # three shouted words read as a shouted message to spam filters
# Said by the portal and the API when the launch committed but its fan-out
# could not be published (see campaign_launch).
QUEUE_DOWN_AFTER_LAUNCH = (
    "The campaign is launched, but the task queue cannot be reached right now. "
    "It starts sending by itself within a few minutes of the queue coming back; "
    "there is nothing to do again."
)

SKIPPED_NAMES_SHOWN = 20  # names listed per reason; the count says the rest
# Why a lead of the lists gets no message, in the order the launch check lists them.
SKIP_REASONS = {
    "opted_out": "opted out",
    "suppressed": "suppressed by staff",
    "invalid_number": "invalid number",
    "deleted": "deleted",
}


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
    leads: int = 0  # leads that get a message
    segments: int = 0
    credit_needed: int = 0
    credit_balance: int = 0
    leads_in_lists: int = 0  # every lead of the lists, sent or not
    # Leads that get no message, per reason of SKIP_REASONS: count and some names.
    skipped: list[dict] = field(default_factory=list)
    skipped_total: int = 0
    # One real lead's message, and how it is encoded (the raw body without leads).
    sample: str = ""
    sample_lead: str = ""
    encoding: str = "GSM-7"
    characters: int = 0
    segments_per_message: int = 0
    not_gsm7: list[str] = field(default_factory=list)
    # Segments per step of a sequence (step 1 first), every texted lead counted.
    step_segments: list[int] = field(default_factory=list)
    # How long sending takes and when it ends (campaigns/projection.py).
    finish: str = ""


def lead_label(*, first_name: str, last_name: str, phone: str) -> str:
    name = full_name(first_name, last_name)
    return f"{name} ({phone})" if name else phone


def content_warnings(
    *, body: str, us_numbers: bool, first_text: bool = True
) -> list[str]:
    """What in the text makes carriers filter it or people complain, in words.

    How to opt out is asked of the first text of a sequence only (CTIA).
    """
    warnings = []
    if SHORTENER.search(body):
        warnings.append(
            "The message uses a link shortener (such as bit.ly); carriers block "
            "shortened links. Use a full link on your own domain."
        )
    elif LINK.search(body):
        warnings.append(
            "The message contains a link; carriers' spam filters often block messages "
            "with links."
        )
    shouted = [
        w for w in SHOUTED.findall(body) if w.casefold() not in OPT_IN_OUT_KEYWORDS
    ]
    if len(shouted) >= SHOUTED_WORDS:
        warnings.append(
            f"The message shouts in capitals ({', '.join(shouted[:SHOUTED_WORDS])}); "
            "carriers' filters treat ALL CAPS as spam. Write in normal case."
        )
    if FREE.search(body):
        warnings.append(
            'The word "free" is a common spam trigger; carriers may filter the message.'
        )
    if us_numbers and PROHIBITED.search(body):
        warnings.append(
            "The message mentions a topic US carriers prohibit (gambling, sex, hate, "
            "alcohol, firearms or tobacco); such messages are usually blocked."
        )
    if first_text and body.strip() and not OPT_OUT_WORDING.search(body):
        warnings.append(
            'The message does not say how to opt out: add "Reply STOP to opt out."'
        )
    return warnings


def launch_check(
    *,
    account: Account,
    body: str,
    field_defaults: dict[str, str],
    leads: QuerySet[Lead],
    has_sender: bool,
    has_lists: bool = True,
    later_bodies: Sequence[str] = (),
) -> LaunchPreview:
    """Check a message (and a sequence's later steps) for the given leads.

    Problems, warnings, counts, cost and a sample. Reads the leads once (plain
    tuples, not model instances): every lead is counted, either as sent or
    under the reason it will not be, so the totals add up even while the
    message has problems. The cost counts every step for every texted lead:
    the most a sequence can take, as stop rules only ever send less.
    """
    preview = LaunchPreview(credit_balance=account.credit_balance)
    if not has_sender:
        preview.problems.append("Choose a sender: the campaign has none.")
    steps = [
        StepTally(number=number, body=text, field_defaults=field_defaults)
        for number, text in enumerate([body, *later_bodies], start=1)
    ]
    first = steps[0]
    known = STANDARD_FIELDS | set(field_defaults)
    custom_seen: set[str] = set()
    skipped: dict[str, list[str]] = {reason: [] for reason in SKIP_REASONS}
    skipped_counts = dict.fromkeys(SKIP_REASONS, 0)
    us_numbers = False
    opted_out = OptOut.objects.filter(account_id=account.pk, phone=OuterRef("phone"))
    rows = (
        leads.annotate(opted_out=Exists(opted_out))
        .order_by("pk")
        .values_list(
            "phone",
            "checked_phone",
            "first_name",
            "last_name",
            "fields",
            "suppressed_at",
            "deleted_at",
            "opted_out",
        )
    )
    for (
        phone,
        checked,
        first_name,
        last,
        custom,
        suppressed,
        deleted,
        out,
    ) in rows.iterator(chunk_size=FANOUT_BATCH_SIZE):
        preview.leads_in_lists += 1
        reason = "deleted" if deleted else None
        if reason is None:
            custom_seen |= custom.keys()
            reason = lead_reject_reason(
                phone=phone, checked=checked, opted_out=out, suppressed=suppressed
            )
        if reason is not None:
            skipped_counts[reason] += 1
            if len(skipped[reason]) < SKIPPED_NAMES_SHOWN:
                skipped[reason].append(
                    lead_label(first_name=first_name, last_name=last, phone=phone)
                )
            continue
        lead = {"first": first_name, "last": last, "phone": phone, "custom": custom}
        rendered = first.add(**lead)
        for step in steps[1:]:
            step.add(**lead)
        if rendered is not None and not preview.sample_lead:
            preview.sample = rendered
            preview.sample_lead = lead_label(
                first_name=first_name, last_name=last, phone=phone
            )
        preview.leads += 1
        us_numbers = us_numbers or phone.startswith("+1")
    preview.skipped = [
        {
            "reason": reason,
            "label": label,
            "count": skipped_counts[reason],
            "names": skipped[reason],
            "more": skipped_counts[reason] - len(skipped[reason]),
        }
        for reason, label in SKIP_REASONS.items()
        if skipped_counts[reason]
    ]
    preview.skipped_total = sum(skipped_counts.values())
    text = preview.sample or body
    counted = segment_count(text)
    preview.encoding = counted.encoding
    preview.characters = len(text)
    preview.segments_per_message = counted.segments
    preview.not_gsm7 = sorted(set(NOT_GSM7.findall(text)))
    for step in steps:
        preview.problems += step.problems + step.field_problems(known | custom_seen)
    if not has_lists:
        preview.problems.append("Choose the lists to send to: the campaign has none.")
    elif preview.leads_in_lists == 0:
        preview.problems.append("The campaign's lists have no leads.")
    elif preview.leads == 0:
        preview.problems.append(
            "None of the leads of the lists can be texted: see why below."
        )
    preview.step_segments = [step.segments for step in steps]
    preview.segments = sum(preview.step_segments)
    preview.credit_needed = preview.segments
    if preview.segments > account.credit_balance:
        preview.problems.append(
            f"Not enough credit: this needs about {preview.segments} segments and the "
            f"account has {account.credit_balance}."
        )
    preview.warnings = content_warnings(body=body, us_numbers=us_numbers)
    for step in steps[1:]:
        preview.warnings += [
            f"{step.label}{warning}"
            for warning in content_warnings(
                body=step.body, us_numbers=us_numbers, first_text=False
            )
        ]
    return preview


def campaign_preview(*, campaign_id: int) -> LaunchPreview:
    """Say what is wrong, what deserves a second look, and what the launch will cost."""
    campaign = Campaign.objects.select_related("sender", "account").get(pk=campaign_id)
    preview = launch_check(
        account=campaign.account,
        body=campaign.body,
        field_defaults=campaign.field_defaults,
        leads=campaign_target_leads(campaign.pk),
        has_sender=campaign.sender_id is not None,
        has_lists=campaign.lists.exists(),
        later_bodies=[step.body for step in campaign.steps.all()],
    )
    if not campaign.can_launch():
        preview.problems.insert(
            0, f"The campaign is {campaign.get_state_display()}, not a draft."
        )
    elif campaign.sender is not None and preview.leads:
        preview.finish = campaign_finish_estimate(
            account=campaign.account,
            sender=campaign.sender,
            leads=campaign_target_leads(campaign.pk),
            texted=preview.leads,
        )
    return preview


def campaign_launch(
    *, campaign_id: int, launched_by, confirm_warnings: bool = False
) -> Campaign:
    """Validate, then move the campaign to processing and queue the fan-out.

    The launch commits before the fan-out is published: with the broker down
    it stands and QueueUnavailable is raised after the commit, and the fan-out
    sweep (campaigns_resume_fan_outs) starts it once the broker is back.
    """
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
        campaign_states_emit(campaigns=Campaign.objects.filter(pk=campaign_id))
        transaction.on_commit(partial(task_publish, fan_out_campaign_task, campaign_id))
        campaign = Campaign.objects.get(pk=campaign_id)
        audit_record(actor=launched_by, obj=campaign, message="Launched")
    return campaign
