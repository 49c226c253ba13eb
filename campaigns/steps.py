"""Sequences: a campaign's later steps, fanned out to each lead once its previous step is due.

Step 1 is the campaign's body, fanned out at launch (campaigns/fan_out.py).
Step n (a CampaignStep) goes to the leads whose current step n-1 message was
sent `delay` ago (or, with a fixed time, once that time has come), who have
no step n message yet and whose sequence no stop rule ended. The sweep writes
them with the fan-out's machinery: set-based, a batch per transaction under
the campaign's row lock, so two sweeps at once write each message once (the
unique (campaign, lead, step, attempt) index is the last word).
"""

from datetime import datetime
from functools import partial

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from campaigns.fan_out import (
    MessageRows,
    has_step_message,
    lead_rows,
    leads_to_fan_out,
    messages_fan_out,
)
from campaigns.models import Campaign, CampaignStep, Lead
from messaging.models import Message, OptOut
from messaging.statuses import FINAL


def lead_stopped(campaign: Campaign, *, step: int) -> Q:
    """The campaign's stop rules as a condition on the outer lead, before step `step`.

    Replied: a text from the lead after its first step was sent. Opted out:
    its number is on the account's opt-out list now. Permanent error: any
    attempt of an earlier step has an error that will not go away.
    """
    lead = OuterRef("pk")
    rules = []
    if campaign.stop_on_reply:
        first_sent = (
            Message.objects.filter(
                campaign_id=campaign.pk,
                lead=OuterRef(lead),
                step=1,
                sent_at__isnull=False,
            )
            .order_by("sent_at")
            .values("sent_at")[:1]
        )
        replies = Message.objects.filter(
            lead=lead,
            direction=Message.Direction.INBOUND,
            created_at__gt=Subquery(first_sent),
        )
        rules.append(Exists(replies))
    if campaign.stop_on_opt_out:
        opt_outs = OptOut.objects.filter(
            account_id=campaign.account_id, phone=OuterRef("phone")
        )
        rules.append(Exists(opt_outs))
    if campaign.stop_on_permanent_error:
        permanent = Message.objects.filter(
            campaign_id=campaign.pk, lead=lead, step__lt=step, error__temporary=False
        )
        rules.append(Exists(permanent))
    stopped = Q()
    for rule in rules:
        stopped |= Q(rule)
    return stopped


def leads_for_step(
    campaign: Campaign, step: CampaignStep, *, now: datetime | None, after: int = 0
) -> QuerySet[Lead]:
    """The leads after `after` that get `step` at `now`; with now None, that still may.

    Still may: the previous step was sent, or is not final yet (it may still
    be sent), and no stop rule holds today.
    """
    previous = Message.objects.filter(
        campaign_id=campaign.pk,
        step=step.number - 1,
        superseded=False,
        lead_id__gt=after,
    )
    if now is None:
        previous = previous.filter(Q(sent_at__isnull=False) | ~Q(status__in=FINAL))
    elif step.send_at is not None:
        if now < step.send_at:
            return Lead.objects.none()
        previous = previous.filter(sent_at__isnull=False)
    else:
        previous = previous.filter(sent_at__lte=now - step.delay_timedelta)
    # The previous step's messages lead (one index range of the campaign),
    # rather than every lead of the account probing for its message.
    leads = Lead.objects.filter(
        ~has_step_message(campaign.pk, step.number, after=after),
        pk__in=previous.values("lead_id"),
        pk__gt=after,
        account_id=campaign.account_id,
        deleted_at__isnull=True,
    )
    stopped = lead_stopped(campaign, step=step.number)
    return leads.exclude(stopped) if stopped else leads


def _claim_running(campaign_id: int) -> bool:
    """Lock the running campaign's row for a batch; False once it is canceled or done."""
    running = Campaign.objects.select_for_update().filter(
        pk=campaign_id, state__in=Campaign.RUNNING
    )
    return bool(list(running.values_list("pk", flat=True)))


def _step_leads_after(
    campaign: Campaign, step: CampaignStep, now: datetime, *, after: int
) -> QuerySet:
    return lead_rows(
        leads_for_step(campaign, step, now=now, after=after),
        account_id=campaign.account_id,
    )


def campaign_send_due_steps(campaign: Campaign, *, now: datetime | None = None) -> int:
    """Fan out every step now due to the campaign's leads; return the queued messages.

    With "also send to new leads", leads who joined the lists since get the
    first step too (and later steps in their turn).
    """
    now = now or timezone.now()
    claim = partial(_claim_running, campaign.pk)
    queued = 0
    if campaign.include_new_leads:
        queued += messages_fan_out(
            campaign,
            messages=MessageRows(campaign, now),
            leads_after=partial(leads_to_fan_out, campaign),
            claim=claim,
        )
    for step in campaign.steps.all():
        queued += messages_fan_out(
            campaign,
            messages=MessageRows(campaign, now, step=step.number, body=step.body),
            leads_after=partial(_step_leads_after, campaign, step, now),
            claim=claim,
            step=step.number,
        )
    return queued


def campaigns_send_due_steps(*, now: datetime | None = None) -> int:
    """The beat sweep: send the due steps of every running, fanned-out campaign."""
    campaigns = (
        Campaign.objects.filter(
            Q(Exists(CampaignStep.objects.filter(campaign=OuterRef("pk"))))
            | Q(include_new_leads=True),
            state__in=Campaign.RUNNING,
            fanned_out_at__isnull=False,
        )
        .select_related("account", "sender")
        .prefetch_related("steps")
    )
    return sum(campaign_send_due_steps(c, now=now) for c in campaigns)


def campaigns_with_steps_to_come(campaign_ids: list[int]) -> set[int]:
    """Of these campaigns, those where some lead may still get a later step.

    A campaign is not done while its last step's window is still open: one
    query per step of the campaigns asked about (the close sweep asks only
    about those it would otherwise close).
    """
    campaigns = Campaign.objects.filter(pk__in=campaign_ids).prefetch_related("steps")
    return {
        campaign.pk
        for campaign in campaigns
        if any(
            leads_for_step(campaign, step, now=None).exists()
            for step in campaign.steps.all()
        )
    }


@transaction.atomic
def campaign_steps_replace(*, campaign: Campaign, steps: list[dict]) -> None:
    """Make the draft's later steps these, in order (numbered 2, 3, ...)."""
    CampaignStep.objects.filter(campaign=campaign).delete()
    CampaignStep.objects.bulk_create(
        CampaignStep(campaign=campaign, number=number, **step)
        for number, step in enumerate(steps, start=2)
    )
