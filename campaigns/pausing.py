"""Pause and resume: a paused campaign's queued messages are held back from the providers.

Staff pause and resume from the campaign page, the API and the support site;
the delivery monitor pauses a campaign when its account asks for it
(campaigns/alerts.py). Both are audited campaign actions. While paused, the
messages' validity keeps running (PAUSE_VALIDITY says so on screen): a
message worth sending within 16 hours is not made fresh by a pause.
"""

from django.db import transaction
from django.utils import timezone

from campaigns.hooks import campaign_states_emit
from campaigns.models import Campaign
from messaging.pauses import campaign_messages_hold, campaign_messages_release
from portal.audit import audit_record
from portal.publishing import task_publish_on_commit

PAUSE_VALIDITY = (
    "Validity keeps running while paused: a held message still queued when "
    "its validity period ends expires, and is counted under Error as Expired."
)


class CampaignStateRefused(Exception):
    """The campaign's state does not allow the action; the message says why in words."""


@transaction.atomic
def campaign_pause(*, campaign_id: int, actor, reason: str = "") -> int:
    """Pause a running campaign: hold its queued messages. Returns how many are held.

    The campaign's row is updated first: a fan-out batch holds that row's lock,
    so the pause waits for it and then holds its messages too, and the next
    batch sees the campaign paused and stops (it resumes with the campaign).
    """
    now = timezone.now()
    changed = Campaign.objects.filter(
        pk=campaign_id, state__in=Campaign.RUNNING
    ).update(state=Campaign.State.PAUSED, paused_at=now, updated_at=now)
    campaign = Campaign.objects.get(pk=campaign_id)
    if not changed:
        raise CampaignStateRefused(
            f"{campaign} is {campaign.get_state_display().lower()}: "
            "only a campaign being processed or in progress can be paused."
        )
    held = campaign_messages_hold(campaign_id=campaign_id)
    campaign_states_emit(campaigns=Campaign.objects.filter(pk=campaign_id))
    audit_record(
        actor=actor,
        obj=campaign,
        message=f"Paused: {held} queued messages held"
        + (f" ({reason})" if reason else "")
        + ".",
    )
    return held


@transaction.atomic
def campaign_resume(*, campaign_id: int, actor) -> int:
    """Resume a paused campaign: release its held messages. Returns how many.

    It goes back to in progress once it has sent, else to being processed;
    an unfinished fan-out is published again.
    """
    from campaigns.tasks import fan_out_campaign_task

    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if not campaign.can_resume():
        raise CampaignStateRefused(
            f"{campaign} is {campaign.get_state_display().lower()}: "
            "only a paused campaign can be resumed."
        )
    campaign.state = (
        Campaign.State.IN_PROGRESS
        if campaign.first_sent_at
        else Campaign.State.PROCESSING
    )
    campaign.paused_at = None
    campaign.save(update_fields=["state", "paused_at", "updated_at"])
    released = campaign_messages_release(campaign_id=campaign_id)
    campaign_states_emit(campaigns=Campaign.objects.filter(pk=campaign_id))
    if campaign.fanned_out_at is None:
        task_publish_on_commit(fan_out_campaign_task, campaign_id)
    audit_record(
        actor=actor,
        obj=campaign,
        message=f"Resumed: {released} held messages released.",
    )
    return released
