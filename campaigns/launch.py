"""Launch: check a campaign, say what is wrong in words, then hand it to the fan-out."""

import re
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.utils import timezone

from campaigns.fan_out import (
    FANOUT_BATCH_SIZE,
    BodyRenderer,
    campaign_target_leads,
    template_fields,
)
from campaigns.models import Campaign, full_name
from messaging.outbound import MAX_BODY_CHARS
from messaging.segments import segment_count
from portal.publishing import task_publish

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
# Said by the portal and the API when the launch committed but its fan-out
# could not be published (see campaign_launch).
QUEUE_DOWN_AFTER_LAUNCH = (
    "The campaign is launched, but the task queue cannot be reached right now. "
    "It starts sending by itself within a few minutes of the queue coming back; "
    "there is nothing to do again."
)


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
    leads = campaign_target_leads(campaign.pk).filter(deleted_at__isnull=True)
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
        transaction.on_commit(partial(task_publish, fan_out_campaign_task, campaign_id))
    return Campaign.objects.get(pk=campaign_id)
