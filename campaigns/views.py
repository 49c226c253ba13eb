"""Portal pages that extend the admin: the campaign page, its actions and the bucket drill-down.

Each view receives the ModelAdmin that mounts it, so the object lookup goes
through its tenant-scoped queryset: another account's object is a 404. The
composer's pages are in compose_views.py, a lead's and the imports' in
lead_views.py.
"""

from dataclasses import asdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from campaigns.launch import (
    QUEUE_DOWN_AFTER_LAUNCH,
    LaunchRefused,
    campaign_launch,
    campaign_preview,
)
from campaigns.models import Campaign
from campaigns.monitor_views import campaign_monitor_context
from campaigns.pausing import (
    PAUSE_VALIDITY,
    CampaignStateRefused,
    campaign_pause,
    campaign_resume,
)
from campaigns.schedule import campaign_unschedule
from campaigns.selectors import (
    campaign_error_counts,
    campaign_message_list_for_bucket,
    errors_by_title,
    lead_list_for_bucket,
)
from campaigns.services import (
    campaign_duplicate,
    campaign_resend_failed,
    campaign_suppress_permanent,
)
from campaigns.widgets import WIDGET_BUCKETS, campaign_rows
from messaging.export_jobs import message_export_create
from messaging.models import ErrorCode
from messaging.statuses import BUCKET_MEANING, Bucket
from portal.publishing import QueueUnavailable
from portal.sites import admin_page_context

DRILL_DOWN_PAGE = 50


def campaign_detail(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """The campaign page: details, buckets as an SVG bar, errors by title, actions."""
    campaign = model_admin.get_object(request, object_id)
    row = campaign_rows(campaigns=[campaign])[0]
    segments, x = [], 0.0
    total = row["total"] or 1
    for bucket in row["buckets"]:
        if bucket["key"] == Bucket.DELETED_LEADS:
            continue
        width = 100 * bucket["count"] / total
        segments.append({**bucket, "x": round(x, 3), "width": round(width, 3)})
        x += width
    errors = next(b["errors"] for b in row["buckets"] if b["key"] == Bucket.ERROR)
    context = admin_page_context(
        model_admin,
        request,
        title=campaign.name,
        campaign=campaign,
        row=row,
        segments=segments,
        errors=errors,
        **campaign_monitor_context(campaign=campaign),
        steps=list(campaign.steps.all()),
        preview=request.session.pop(f"campaign-preview-{campaign.pk}", None),
        can_resend=campaign_has_sent(campaign)
        and campaign.state not in (Campaign.State.CANCELED, Campaign.State.PAUSED)
        and any(e["error"].temporary for e in errors),
        can_suppress=campaign_has_sent(campaign)
        and any(
            e["error"].number_advice == ErrorCode.NumberAdvice.REMOVE for e in errors
        ),
    )
    return TemplateResponse(request, "campaigns/campaign_detail.html", context)


CAMPAIGN_ACTIONS = {
    "preview",
    "launch",
    "unschedule",
    "resend",
    "suppress",
    "export",
    "duplicate",
    "pause",
    "resume",
}


@require_POST
def campaign_action(
    request: HttpRequest, model_admin, object_id: str, action: str
) -> HttpResponse:
    """Run one campaign service and report its outcome as a message."""
    if action not in CAMPAIGN_ACTIONS:
        raise Http404("No such action.")
    campaign = model_admin.get_object(request, object_id)
    back = HttpResponseRedirect(
        reverse(
            f"{model_admin.admin_site.name}:campaigns_campaign_change",
            args=[campaign.pk],
        )
    )
    if action == "preview":
        preview = campaign_preview(campaign_id=campaign.pk)
        request.session[f"campaign-preview-{campaign.pk}"] = asdict(preview)
        return back
    if action == "launch":
        try:
            campaign_launch(
                campaign_id=campaign.pk,
                launched_by=request.user,
                confirm_warnings=request.POST.get("confirm_warnings") == "1",
            )
        except LaunchRefused as refused:
            for problem in refused.problems:
                messages.error(request, problem)
            for warning in refused.warnings:
                messages.warning(request, warning)
            return back
        except QueueUnavailable:
            messages.warning(request, QUEUE_DOWN_AFTER_LAUNCH)
            return back
        messages.success(request, "Campaign launched.")
        return back
    if action in ("pause", "resume"):
        return _pause_or_resume(request, campaign, action, back)
    if action == "unschedule":
        if campaign_unschedule(campaign_id=campaign.pk, actor=request.user):
            messages.success(request, "Unscheduled: it stays a draft.")
        else:
            messages.error(request, "The campaign had started or had no launch time.")
        return back
    if action == "duplicate":
        copy = campaign_duplicate(campaign_id=campaign.pk, actor=request.user)
        messages.success(
            request, "This is a new draft copy: change what you need, then launch it."
        )
        return HttpResponseRedirect(
            reverse(
                f"{model_admin.admin_site.name}:campaigns_campaign_edit",
                args=[copy.pk],
            )
        )
    if action in ("resend", "suppress") and not campaign_has_sent(campaign):
        messages.error(
            request, "The campaign has sent nothing: there is nothing to redo."
        )
        return back
    if action == "export":
        export = message_export_create(
            account=campaign.account,
            filters={"campaign": [str(campaign.pk)]},
            created_by=request.user,
        )
        return HttpResponseRedirect(
            reverse(
                f"{model_admin.admin_site.name}:messaging_messageexport_change",
                args=[export.pk],
            )
        )
    service, template = {
        "resend": (
            campaign_resend_failed,
            "Resending %d messages with temporary errors.",
        ),
        "suppress": (
            campaign_suppress_permanent,
            "Suppressed %d numbers with permanent errors.",
        ),
    }[action]
    n = service(campaign_id=campaign.pk, actor=request.user)
    messages.success(request, template % n)
    return back


def _pause_or_resume(request, campaign, action: str, back) -> HttpResponse:
    """Pause or resume from the campaign page; say what happened in words."""
    try:
        if action == "pause":
            held = campaign_pause(campaign_id=campaign.pk, actor=request.user)
            messages.success(
                request,
                f"Paused: {held} queued messages are held until you resume. "
                + PAUSE_VALIDITY,
            )
        else:
            released = campaign_resume(campaign_id=campaign.pk, actor=request.user)
            messages.success(
                request, f"Resumed: {released} held messages are being sent."
            )
    except CampaignStateRefused as refused:
        messages.error(request, str(refused))
    return back


def campaign_bucket_leads(
    request: HttpRequest, model_admin, object_id: str, bucket: str
) -> HttpResponse:
    """The drill-down: the leads of one campaign in one bucket, filterable by error title."""
    campaign = model_admin.get_object(request, object_id)
    try:
        bucket = Bucket(bucket)
    except ValueError:
        raise Http404("No such bucket.") from None
    error_title = request.GET.get("error", "")
    error_choices = []
    if bucket == Bucket.DELETED_LEADS:
        rows = lead_list_for_bucket(campaign=campaign, bucket=bucket).order_by("-pk")
        kind = "leads"
    else:
        rows = campaign_message_list_for_bucket(
            campaign=campaign, bucket=bucket, error_title=error_title
        )
        kind = "messages"
        if bucket == Bucket.ERROR:
            error_choices = errors_by_title(
                campaign_error_counts(campaign_ids=[campaign.pk]).get(campaign.pk, [])
            )
    page = Paginator(rows, DRILL_DOWN_PAGE).get_page(request.GET.get("page"))
    context = admin_page_context(
        model_admin,
        request,
        title=f"{campaign.name}: {bucket.label}",
        campaign=campaign,
        bucket=bucket,
        bucket_meaning=BUCKET_MEANING[bucket],
        page=page,
        kind=kind,
        error_title=error_title,
        error_choices=error_choices,
        buckets=[{"key": b.value, "label": b.label} for b in WIDGET_BUCKETS],
    )
    return TemplateResponse(request, "campaigns/bucket_leads.html", context)


def campaign_has_sent(campaign: Campaign) -> bool:
    """Launched: resend, suppress and export apply only to a campaign with messages."""
    return campaign.state != Campaign.State.DRAFT
