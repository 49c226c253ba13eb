"""Campaign services: create and change a draft, cancel, resend, suppress, close."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import ADDITION
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import ngettext

from campaigns.hooks import campaign_states_emit
from campaigns.models import Campaign, Lead
from campaigns.steps import campaign_steps_replace, campaigns_with_steps_to_come
from messaging.dispatch import messages_enqueue
from messaging.models import ErrorCode, Message, MessageEvent
from messaging.pauses import campaign_messages_hold
from messaging.providers.base import StatusUpdate
from messaging.services import messages_apply_statuses
from messaging.statuses import FINAL, Status, statuses_in
from portal.audit import audit_record


class CampaignNotDraft(Exception):
    """Only a draft campaign can be changed."""


class CampaignNotCancelable(Exception):
    """Only a draft or running campaign can be canceled; the message says the state."""


@transaction.atomic
def campaign_create(
    *,
    account_id: int,
    lists=(),
    steps=(),
    actor: AbstractBaseUser | None = None,
    **data,
) -> Campaign:
    """Create a draft campaign; `steps` are its later steps (step 1 is the body)."""
    campaign = Campaign.objects.create(account_id=account_id, **data)
    if lists:
        campaign.lists.set(lists)
    if steps:
        campaign_steps_replace(campaign=campaign, steps=steps)
    audit_record(actor=actor, obj=campaign, message="Created", flag=ADDITION)
    return campaign


@transaction.atomic
def campaign_update(
    *,
    campaign_id: int,
    lists=None,
    steps=None,
    actor: AbstractBaseUser | None = None,
    **data,
) -> Campaign:
    """Change a campaign while it is a draft; raise CampaignNotDraft otherwise.

    `steps`, when given, replace its later steps.
    """
    campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
    if campaign.state != Campaign.State.DRAFT:
        raise CampaignNotDraft(campaign.state)
    for name, value in data.items():
        setattr(campaign, name, value)
    campaign.save()
    if lists is not None:
        campaign.lists.set(lists)
    if steps is not None:
        campaign_steps_replace(campaign=campaign, steps=steps)
    audit_record(actor=actor, obj=campaign, message="Changed the draft")
    return campaign


@transaction.atomic
def campaign_duplicate(
    *, campaign_id: int, actor: AbstractBaseUser | None = None
) -> Campaign:
    """Copy a campaign of any state into a new draft: name, sender, lists, body, defaults."""
    source = Campaign.objects.get(pk=campaign_id)
    copy = campaign_create(
        account_id=source.account_id,
        lists=list(source.lists.values_list("pk", flat=True)),
        name=f"Copy of {source.name}"[:200],
        sender_id=source.sender_id,
        body=source.body,
        steps=[
            {
                "body": step.body,
                "delay": step.delay,
                "delay_unit": step.delay_unit,
                "send_at": step.send_at,
            }
            for step in source.steps.all()
        ],
        field_defaults=source.field_defaults,
        validity_hours=source.validity_hours,
        stop_on_reply=source.stop_on_reply,
        stop_on_opt_out=source.stop_on_opt_out,
        stop_on_permanent_error=source.stop_on_permanent_error,
        include_new_leads=source.include_new_leads,
    )
    audit_record(
        actor=actor, obj=copy, message=f"Duplicated from {source}", flag=ADDITION
    )
    return copy


def campaign_result(*, delivered: int, total: int) -> str:
    """All delivered, all failed, or a mix (smsmode's "Partially received")."""
    if total and delivered == total:
        return Campaign.Result.DELIVERED
    if delivered == 0:
        return Campaign.Result.FAILED
    return Campaign.Result.PARTIAL


def campaigns_close(*, now: datetime | None = None) -> int:
    """Mark done the campaigns whose messages are all final, or silent past the close window.

    A sequence also needs no lead left to get a later step.

    Reads the messages with one grouped query over the open campaigns; safe to
    run twice at once (the state guard in the UPDATE wins once).
    """
    now = now or timezone.now()
    window = timedelta(hours=settings.PORTAL_CLOSE_WINDOW_HOURS)
    open_ids = Campaign.objects.filter(
        state__in=Campaign.RUNNING,
        fanned_out_at__isnull=False,
    ).values("pk")
    stats = (
        Message.objects.filter(campaign__in=open_ids, superseded=False)
        .values("campaign")
        .annotate(
            total=Count("pk"),
            still_open=Count("pk", filter=~Q(status__in=FINAL)),
            delivered=Count("pk", filter=Q(status=Status.DELIVERED)),
            last_sent=Max("sent_at"),
        )
    )
    closing: dict[str, list[int]] = {}
    for row in stats:
        quiet = row["last_sent"] is not None and row["last_sent"] < now - window
        if row["still_open"] == 0 or quiet:
            result = campaign_result(delivered=row["delivered"], total=row["total"])
            closing.setdefault(result, []).append(row["campaign"])
    # A sequence stays open until its last step's window closes.
    to_come = campaigns_with_steps_to_come(
        [pk for ids in closing.values() for pk in ids]
    )
    closing = {
        result: [pk for pk in ids if pk not in to_come]
        for result, ids in closing.items()
    }
    closed = 0
    with transaction.atomic():
        for result, ids in closing.items():
            closed += Campaign.objects.filter(
                pk__in=ids,
                state__in=Campaign.RUNNING,
            ).update(
                state=Campaign.State.DONE, result=result, done_at=now, updated_at=now
            )
        if closed:  # the ones this call closed carry its time
            campaign_states_emit(campaigns=Campaign.objects.filter(done_at=now))
    return closed


def campaigns_mark_in_progress(*, now: datetime | None = None) -> int:
    """Move processing campaigns whose first message reached a provider to in progress."""
    now = now or timezone.now()
    sent = Message.objects.filter(campaign=OuterRef("pk"), sent_at__isnull=False)
    first_sent = sent.order_by("sent_at").values("sent_at")[:1]
    # One UPDATE for every campaign at once, of the rows locked here: exactly
    # those are told to webhooks; a re-run finds none.
    with transaction.atomic():
        ids = list(
            Campaign.objects.filter(Exists(sent), state=Campaign.State.PROCESSING)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        moved = Campaign.objects.filter(pk__in=ids).update(
            state=Campaign.State.IN_PROGRESS,
            first_sent_at=Subquery(first_sent),
            updated_at=now,
        )
        campaign_states_emit(campaigns=Campaign.objects.filter(pk__in=ids))
    return moved


@transaction.atomic
def campaign_cancel(*, campaign_id: int, actor) -> int:
    """Cancel a campaign: its queued messages become canceled, sent ones keep theirs."""
    now = timezone.now()
    changed = Campaign.objects.filter(
        pk=campaign_id,
        state__in=Campaign.CANCELABLE,
    ).update(state=Campaign.State.CANCELED, canceled_at=now, updated_at=now)
    if not changed:
        campaign = Campaign.objects.get(pk=campaign_id)
        raise CampaignNotCancelable(not_cancelable_reason(campaign))
    campaign_states_emit(campaigns=Campaign.objects.filter(pk=campaign_id))
    queued = Message.objects.filter(campaign_id=campaign_id, status=Status.QUEUED)
    canceled = StatusUpdate(
        status=Status.CANCELED, kind=MessageEvent.Kind.STAFF, payload={"by": str(actor)}
    )
    n = messages_apply_statuses(
        updates=[(pk, canceled) for pk in queued.values_list("pk", flat=True)]
    )
    audit_record(
        actor=actor, obj=Campaign.objects.get(pk=campaign_id), message=cancel_summary(n)
    )
    return n


def not_cancelable_reason(campaign: Campaign) -> str:
    """Say in words why a campaign can no longer be canceled."""
    state = campaign.get_state_display().lower()
    return f"{campaign} is {state}: it can no longer be canceled."


def cancel_summary(canceled: int) -> str:
    """Say what a cancel did, for the user and for the audit trail."""
    return (
        ngettext(
            "Canceled: %d queued message will not be sent.",
            "Canceled: %d queued messages will not be sent.",
            canceled,
        )
        % canceled
    )


@transaction.atomic
def campaign_resend_failed(*, campaign_id: int, actor) -> int:
    """Queue a new attempt for each current message whose error is temporary."""
    campaign = Campaign.objects.select_related("account").get(pk=campaign_id)
    failed = list(
        Message.objects.filter(
            campaign_id=campaign_id,
            superseded=False,
            status__in=statuses_in("error"),
            error__temporary=True,
        ).select_for_update(of=("self",))
    )
    if not failed:
        return 0
    audit_record(
        actor=actor,
        obj=campaign,
        message=ngettext(
            "Resent %d message with a temporary error",
            "Resent %d messages with temporary errors",
            len(failed),
        )
        % len(failed),
    )
    now = timezone.now()
    expires_at = now + timedelta(
        hours=campaign.validity_hours or campaign.account.validity
    )
    Message.objects.filter(pk__in=[m.pk for m in failed]).update(
        superseded=True, updated_at=now
    )
    retries = Message.objects.bulk_create(
        Message(
            account_id=m.account_id,
            campaign_id=m.campaign_id,
            lead_id=m.lead_id,
            sender_id=m.sender_id,
            phone=m.phone,
            body=m.body,
            segments=m.segments,
            provider=m.provider,
            step=m.step,
            attempt=m.attempt + 1,
            retry_of_id=m.pk,
            expires_at=expires_at,
            created_at=now,
        )
        for m in failed
    )
    if campaign.state == Campaign.State.DONE:
        Campaign.objects.filter(pk=campaign_id).update(
            state=Campaign.State.IN_PROGRESS, result="", done_at=None, updated_at=now
        )
        campaign_states_emit(campaigns=Campaign.objects.filter(pk=campaign_id))
    if campaign.state == Campaign.State.PAUSED:
        campaign_messages_hold(campaign_id=campaign_id)  # sent on resume
    else:
        messages_enqueue(message_ids=[m.pk for m in retries])
    return len(retries)


def campaign_suppress_permanent(*, campaign_id: int, actor) -> int:
    """Suppress the leads whose number the carrier says can never receive texts."""
    bad = Message.objects.filter(
        campaign_id=campaign_id,
        superseded=False,
        error__number_advice=ErrorCode.NumberAdvice.REMOVE,
    ).values("lead_id")
    now = timezone.now()
    n = Lead.objects.filter(pk__in=bad, suppressed_at__isnull=True).update(
        suppressed_at=now,
        updated_at=now,
        suppressed_reason=f"Permanent error in campaign {campaign_id}, by {actor}",
    )
    audit_record(
        actor=actor,
        obj=Campaign.objects.get(pk=campaign_id),
        message=ngettext(
            "Suppressed %d number with permanent errors",
            "Suppressed %d numbers with permanent errors",
            n,
        )
        % n,
    )
    return n
