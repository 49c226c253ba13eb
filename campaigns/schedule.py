"""Schedules: a draft with a launch time, launched by a sweep through the same launch service.

A scheduled campaign stays a draft (Campaign.scheduled_at set) so that it can
be edited or unscheduled until it starts, as any draft can; the sweep launches
it with campaign_launch, whose draft-only UPDATE makes each launch happen once.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from campaigns.launch import LaunchRefused, campaign_launch, campaign_preview
from campaigns.models import Campaign
from portal.audit import audit_record


def scheduled_label(campaign: Campaign) -> str:
    """ "Scheduled for 5 Mar 2027 09:00 (America/New_York)": the account's time zone."""
    zone = ZoneInfo(campaign.account.time_zone)
    local = timezone.localtime(campaign.scheduled_at, timezone=zone)
    return f"Scheduled for {local:%-d %b %Y %H:%M} ({campaign.account.time_zone})"


def campaign_schedule(
    *,
    campaign_id: int,
    at: datetime,
    actor: AbstractBaseUser | None,
    confirm_warnings: bool = False,
) -> Campaign:
    """Set the draft's launch time, after the launch check passes (as a launch would)."""
    preview = campaign_preview(campaign_id=campaign_id)
    if at <= timezone.now():
        preview.problems.append("Choose a launch time in the future.")
    if preview.problems or (preview.warnings and not confirm_warnings):
        raise LaunchRefused(
            preview.problems, [] if confirm_warnings else preview.warnings
        )
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign_id, state=Campaign.State.DRAFT
        ).update(scheduled_at=at, scheduled_by=actor, updated_at=timezone.now())
        if not changed:
            raise LaunchRefused(
                ["The campaign was launched or canceled meanwhile."], []
            )
        campaign = Campaign.objects.select_related("account").get(pk=campaign_id)
        audit_record(actor=actor, obj=campaign, message=scheduled_label(campaign))
    return campaign


@transaction.atomic
def campaign_unschedule(*, campaign_id: int, actor: AbstractBaseUser | None) -> bool:
    """Take the launch time off a draft; False when it had started or had none."""
    changed = Campaign.objects.filter(
        pk=campaign_id, state=Campaign.State.DRAFT, scheduled_at__isnull=False
    ).update(scheduled_at=None, scheduled_by=None, updated_at=timezone.now())
    if changed:
        audit_record(
            actor=actor, obj=Campaign.objects.get(pk=campaign_id), message="Unscheduled"
        )
    return bool(changed)


def campaigns_launch_scheduled(*, now: datetime | None = None) -> int:
    """The beat sweep: launch the drafts whose time has come; return how many launched.

    Warnings were confirmed when it was scheduled. A launch the check refuses
    now (credit spent meanwhile, a list emptied) leaves the campaign a draft,
    unscheduled, with the reason in its history, rather than retrying forever.
    """
    now = now or timezone.now()
    due = Campaign.objects.filter(
        state=Campaign.State.DRAFT, scheduled_at__lte=now
    ).values_list("pk", flat=True)
    launched = 0
    for campaign_id in due:
        with transaction.atomic():
            # A sweep running at once, or an unschedule, waits for this one.
            campaign = (
                Campaign.objects.select_for_update(of=("self",))
                .filter(
                    pk=campaign_id, state=Campaign.State.DRAFT, scheduled_at__lte=now
                )
                .select_related("scheduled_by")
                .first()
            )
            if campaign is None:
                continue
            try:
                campaign_launch(
                    campaign_id=campaign_id,
                    launched_by=campaign.scheduled_by,
                    confirm_warnings=True,
                )
            except LaunchRefused as refused:
                Campaign.objects.filter(pk=campaign_id).update(
                    scheduled_at=None, updated_at=now
                )
                audit_record(
                    actor=campaign.scheduled_by,
                    obj=campaign,
                    message=f"Scheduled launch refused: {refused}",
                )
            else:
                launched += 1
    return launched
