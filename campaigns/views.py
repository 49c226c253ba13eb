"""Portal pages that extend the admin: campaign page, bucket drill-down, lead history.

Each view receives the ModelAdmin that mounts it, so the object lookup goes
through its tenant-scoped queryset: another account's object is a 404.
"""

from dataclasses import asdict

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from campaigns.composer import campaign_compose_check, campaign_test_send
from campaigns.forms import CampaignForm, LeadImportUploadForm, ReplyForm
from campaigns.imports import lead_import_upload
from campaigns.launch import QUEUE_DOWN_AFTER_LAUNCH, STANDARD_FIELDS, LaunchPreview
from campaigns.leads import (
    CampaignNotDraft,
    campaign_create,
    campaign_duplicate,
    campaign_update,
)
from campaigns.models import Campaign, Lead, LeadImport
from campaigns.replies import inbox_list, reply_sender_default, reply_senders
from campaigns.selectors import (
    campaign_bucket_counts,
    campaign_deliveries_over_time,
    campaign_error_counts,
    campaign_message_list_for_bucket,
    errors_by_title,
    lead_list_for_bucket,
    lead_message_list,
)
from campaigns.widgets import WIDGET_BUCKETS, campaign_rows
from messaging.export_jobs import message_export_create
from messaging.models import ErrorCode, Message, OptOut, OptOutEvent
from messaging.outbound import MAX_BODY_CHARS, SendRefused, message_send
from messaging.segments import GSM7_BASIC, GSM7_EXTENSION
from messaging.statuses import BUCKET_MEANING, STATUS_MEANING, Bucket
from portal.models import Account
from portal.publishing import QueueUnavailable
from portal.services import InsufficientCredit
from portal.sites import request_account_ids

DRILL_DOWN_PAGE = 50
IMPORT_ERRORS_SHOWN = (
    500  # bad rows listed on an import's page; the count says the rest
)
HISTORY_LIMIT = 200  # newest entries shown in a lead's timeline
INBOX_PAGE = 50
MAX_BAR_WIDTH = 6  # percent of the chart: a lone hour stays a bar, not a slab

NUMBER_ADVICE_TEXT = {
    ErrorCode.NumberAdvice.REMOVE: "Number looks invalid: update or remove it.",
    ErrorCode.NumberAdvice.OPTED_OUT: "This person opted out: do not text them.",
    ErrorCode.NumberAdvice.KEEP: "Keep the number: the last error was temporary.",
}


def _context(model_admin, request: HttpRequest, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        **extra,
    }


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
    hours = campaign_deliveries_over_time(campaign_id=campaign.pk)
    peak = max((n for _, n in hours), default=0) or 1
    bar = 100 / len(hours) if hours else 0
    deliveries = [
        {
            "hour": hour,
            "n": n,
            "x": round(i * bar, 3),
            "width": round(min(bar * 0.9, MAX_BAR_WIDTH), 3),
            "height": round(40 * n / peak, 3),
            "y": round(40 - 40 * n / peak, 3),
        }
        for i, (hour, n) in enumerate(hours)
    ]
    context = _context(
        model_admin,
        request,
        title=campaign.name,
        campaign=campaign,
        row=row,
        segments=segments,
        errors=errors,
        deliveries=deliveries,
        preview=request.session.pop(f"campaign-preview-{campaign.pk}", None),
        can_resend=campaign_has_sent(campaign)
        and campaign.state != Campaign.State.CANCELED
        and any(e["error"].temporary for e in errors),
        can_suppress=campaign_has_sent(campaign)
        and any(
            e["error"].number_advice == ErrorCode.NumberAdvice.REMOVE for e in errors
        ),
    )
    return TemplateResponse(request, "campaigns/campaign_detail.html", context)


CAMPAIGN_ACTIONS = {"preview", "launch", "resend", "suppress", "export", "duplicate"}


@require_POST
def campaign_action(
    request: HttpRequest, model_admin, object_id: str, action: str
) -> HttpResponse:
    """Run one campaign service and report its outcome as a message."""
    from campaigns import services

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
        preview = services.campaign_preview(campaign_id=campaign.pk)
        request.session[f"campaign-preview-{campaign.pk}"] = asdict(preview)
        return back
    if action == "launch":
        try:
            services.campaign_launch(
                campaign_id=campaign.pk,
                launched_by=request.user,
                confirm_warnings=request.POST.get("confirm_warnings") == "1",
            )
        except services.LaunchRefused as refused:
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
            services.campaign_resend_failed,
            "Resending %d messages with temporary errors.",
        ),
        "suppress": (
            services.campaign_suppress_permanent,
            "Suppressed %d numbers with permanent errors.",
        ),
    }[action]
    n = service(campaign_id=campaign.pk, actor=request.user)
    messages.success(request, template % n)
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
    context = _context(
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


def _reply_blocked(lead: Lead, opt_out: OptOut | None) -> str:
    """Why the reply box cannot send, in words; "" when it can."""
    if opt_out is not None:
        return "This person opted out: replies cannot be sent to them."
    if lead.deleted_at is not None:
        return "This lead was deleted: it can no longer be texted."
    if lead.suppressed_at is not None:
        reason = lead.suppressed_reason or "by staff"
        return f"This lead is suppressed ({reason}): it cannot be texted."
    return ""


def _reply_send(lead: Lead, form: ReplyForm) -> Message | None:
    """Send the reply the form holds through message_send; refusals go on the form."""
    if not form.is_valid():
        return None
    try:
        return message_send(
            account=lead.account,
            sender_id=form.cleaned_data["sender"],
            body=form.cleaned_data["body"],
            lead_id=lead.pk,
        )
    except SendRefused as refused:
        form.add_error(None, f"Not sent. {refused.detail}")
    except InsufficientCredit:
        form.add_error(
            None,
            f"Not sent: the account has {lead.account.credit_balance} segments of "
            "credit left, fewer than this reply needs.",
        )
    return None


def lead_history(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """The conversation with a lead, oldest first, and a box to reply to it.

    Every message to and from the lead and every opt-out/opt-in; the reply is
    sent by message_send, which refuses an opted-out or suppressed number.
    """
    lead = model_admin.get_object(request, object_id)
    opt_out = OptOut.objects.filter(
        account_id=lead.account_id, phone=lead.phone
    ).first()
    blocked = _reply_blocked(lead, opt_out)
    senders = list(reply_senders(account=lead.account))
    form = ReplyForm(
        request.POST if request.method == "POST" else None,
        senders=senders,
        initial_sender=reply_sender_default(lead=lead, senders=senders),
    )
    if request.method == "POST":
        message = _reply_send(lead, form)
        if message is not None:
            messages.success(
                request,
                ngettext(
                    "Reply queued (%d segment): its status shows in the conversation.",
                    "Reply queued (%d segments): its status shows in the conversation.",
                    message.segments,
                )
                % message.segments,
            )
            return HttpResponseRedirect(f"{request.path}#message-{message.pk}")
    sms = list(lead_message_list(lead=lead)[:HISTORY_LIMIT])
    events = list(
        OptOutEvent.objects.filter(account_id=lead.account_id, phone=lead.phone)
        .select_related("actor")
        .order_by("-created_at", "-pk")[:HISTORY_LIMIT]
    )
    timeline = [
        {
            "kind": "message",
            "at": m.created_at,
            "message": m,
            "meaning": STATUS_MEANING[m.status],
        }
        for m in sms
    ] + [{"kind": "opt", "at": e.created_at, "event": e} for e in events]
    # The newest entries, read as a conversation: oldest first, the reply box last.
    timeline.sort(key=lambda item: item["at"], reverse=True)
    timeline = timeline[:HISTORY_LIMIT][::-1]
    last_error = next((m.error for m in sms if m.error_id), None)
    advice = None
    if opt_out:
        advice = NUMBER_ADVICE_TEXT[ErrorCode.NumberAdvice.OPTED_OUT]
    elif last_error is not None:
        advice = NUMBER_ADVICE_TEXT.get(last_error.number_advice)
    context = _context(
        model_admin,
        request,
        title=f"Conversation with {lead}",
        lead=lead,
        timeline=timeline,
        opt_out=opt_out,
        advice=advice,
        last_error=last_error,
        form=form,
        reply_blocked=blocked
        or ("" if senders else "The account has no active sender to reply from."),
        credit=lead.account.credit_balance,
        max_body_chars=MAX_BODY_CHARS,
        gsm7_chars="".join(sorted(GSM7_BASIC)),
        gsm7_extension="".join(sorted(GSM7_EXTENSION)),
    )
    return TemplateResponse(request, "campaigns/lead_history.html", context)


def inbox(request: HttpRequest, model_admin) -> HttpResponse:
    """Leads waiting for an answer: their last text is newer than anything sent to them."""
    rows = inbox_list(account_ids=request_account_ids(request))
    page = Paginator(rows, INBOX_PAGE).get_page(request.GET.get("page"))
    leads = Lead.objects.in_bulk([m.inbox_lead_id for m in page])
    context = _context(
        model_admin,
        request,
        title="Inbox: replies waiting for an answer",
        page=page,
        rows=[{"message": m, "lead": leads[m.inbox_lead_id]} for m in page],
    )
    return TemplateResponse(request, "campaigns/inbox.html", context)


def lead_import_upload_view(request: HttpRequest, model_admin) -> HttpResponse:
    """Upload a CSV of leads; a worker imports it while its page shows the progress."""
    accounts = Account.objects.filter(pk__in=request_account_ids(request))
    form = LeadImportUploadForm(
        request.POST or None, request.FILES or None, accounts=accounts
    )
    if request.method == "POST" and form.is_valid():
        imp = lead_import_upload(
            account_id=form.cleaned_data["account"].pk,
            upload=form.cleaned_data["file"],
            list_name=form.cleaned_data["list_name"],
            created_by=request.user,
            in_background=True,
        )
        return HttpResponseRedirect(
            reverse(
                f"{model_admin.admin_site.name}:campaigns_leadimport_change",
                args=[imp.pk],
            )
        )
    context = _context(model_admin, request, title="Import leads", form=form)
    return TemplateResponse(request, "campaigns/lead_import_form.html", context)


def lead_import_detail(
    request: HttpRequest, model_admin, object_id: str
) -> HttpResponse:
    """An import's progress (the page refreshes while it runs) and its bad rows."""
    imp = model_admin.get_object(request, object_id)
    context = _context(
        model_admin,
        request,
        title=str(imp),
        job=imp,
        running=imp.status in (LeadImport.Status.PENDING, LeadImport.Status.RUNNING),
        errors=imp.errors[:IMPORT_ERRORS_SHOWN],
        errors_shown=IMPORT_ERRORS_SHOWN,
    )
    return TemplateResponse(request, "campaigns/lead_import_detail.html", context)


def campaign_has_sent(campaign: Campaign) -> bool:
    """Launched: resend, suppress and export apply only to a campaign with messages."""
    return campaign.state != Campaign.State.DRAFT


def _compose_form(request: HttpRequest, campaign: Campaign | None) -> CampaignForm:
    account_ids = [campaign.account_id] if campaign else request_account_ids(request)
    form = CampaignForm(
        request.POST if request.method == "POST" else None,
        accounts=Account.objects.filter(pk__in=account_ids).order_by("name"),
        campaign=campaign,
    )
    if campaign is not None and not campaign.can_launch():
        for field in form.fields.values():
            field.disabled = True
    return form


def _compose_check(
    form: CampaignForm, campaign: Campaign | None
) -> LaunchPreview | None:
    """The launch check of what the form holds: typed (valid or not), else saved."""
    if form.is_bound:
        form.is_valid()
        data = form.cleaned_data
    elif campaign is not None:
        data = {**form.initial, "account": campaign.account}
    else:
        data = {"account": form.single_account}
    if data.get("account") is None:
        return None
    return campaign_compose_check(
        account=data["account"],
        body=data.get("body") or "",
        field_defaults=data.get("field_defaults") or {},
        list_ids=[getattr(x, "pk", x) for x in data.get("lists") or []],
        has_sender=bool(data.get("sender")),
    )


def _compose_test(request: HttpRequest, form: CampaignForm, campaign) -> dict:
    """Send the test the form asks for; the outcome in words for the page."""
    data = form.cleaned_data
    if set(form.errors) & {"account", "sender", "lists", "body", "field_defaults"}:
        return {"ok": False, "text": "Fix the fields marked above, then send the test."}
    sender = data.get("sender")
    try:
        message = campaign_test_send(
            account=data["account"],
            sender_id=sender.pk if sender else None,
            body=data.get("body") or "",
            field_defaults=data.get("field_defaults") or {},
            list_ids=[x.pk for x in data.get("lists") or []],
            phone=data.get("test_phone") or "",
            actor=request.user,
            campaign=campaign,
        )
    except SendRefused as refused:
        return {"ok": False, "text": f"Test not sent. {refused.detail}"}
    except InsufficientCredit:
        return {
            "ok": False,
            "text": "Test not sent: the account has no credit left for it.",
        }
    return {
        "ok": True,
        "text": f"Test sent to {message.phone}. It should arrive within a minute; "
        "its status is in the SMS log.",
        "url": reverse("portal:messaging_message_change", args=[message.pk]),
    }


def campaign_compose(
    request: HttpRequest, model_admin, object_id: str | None = None
) -> HttpResponse:
    """Write a new campaign or change a draft; a launched one is shown read-only."""
    campaign = model_admin.get_object(request, object_id) if object_id else None
    form = _compose_form(request, campaign)
    editable = campaign is None or campaign.can_launch()
    test = None
    if request.method == "POST" and editable:
        valid = form.is_valid()
        if "_test" in request.POST:
            test = _compose_test(request, form, campaign)
        elif "_preview" not in request.POST and valid:
            data = form.campaign_data()
            try:
                if campaign is None:
                    campaign = campaign_create(
                        account_id=form.cleaned_data["account"].pk,
                        actor=request.user,
                        **data,
                    )
                else:
                    campaign_update(campaign_id=campaign.pk, actor=request.user, **data)
            except CampaignNotDraft:
                form.add_error(
                    None,
                    "The campaign was launched meanwhile: it can no longer change.",
                )
            else:
                messages.success(
                    request, "Draft saved. Check it and launch it when it is ready."
                )
                return HttpResponseRedirect(
                    reverse(
                        f"{model_admin.admin_site.name}:campaigns_campaign_change",
                        args=[campaign.pk],
                    )
                )
    site = model_admin.admin_site.name
    context = _context(
        model_admin,
        request,
        title=f"Edit {campaign.name}" if campaign else "New campaign",
        campaign=campaign,
        form=form,
        editable=editable,
        check=_compose_check(form, campaign),
        test=test,
        merge_fields=sorted(STANDARD_FIELDS),
        check_url=reverse(f"{site}:campaigns_campaign_edit_check", args=[campaign.pk])
        if campaign
        else reverse(f"{site}:campaigns_campaign_add_check"),
    )
    return TemplateResponse(request, "campaigns/campaign_compose.html", context)


@require_POST
def campaign_compose_check_view(
    request: HttpRequest, model_admin, object_id: str | None = None
) -> HttpResponse:
    """The composer's live panel for what is typed (the page's script asks, debounced)."""
    campaign = model_admin.get_object(request, object_id) if object_id else None
    form = _compose_form(request, campaign)
    return TemplateResponse(
        request,
        "campaigns/_composer_check.html",
        {"check": _compose_check(form, campaign)},
    )


def campaign_cancel_confirm(
    request: HttpRequest, model_admin, object_id: str
) -> HttpResponse:
    """Ask before canceling; the POST of the confirmation page cancels."""
    from campaigns import services

    campaign = model_admin.get_object(request, object_id)
    back = HttpResponseRedirect(
        reverse(
            f"{model_admin.admin_site.name}:campaigns_campaign_change",
            args=[campaign.pk],
        )
    )
    if not campaign.can_cancel():
        messages.error(
            request,
            f"The campaign is {campaign.get_state_display()}: it can no longer be canceled.",
        )
        return back
    if request.method == "POST":
        try:
            n = services.campaign_cancel(campaign_id=campaign.pk, actor=request.user)
        except services.CampaignNotCancelable as refused:
            messages.error(request, str(refused))
        else:
            messages.success(
                request,
                ngettext(
                    "Canceled: %d queued message will not be sent.",
                    "Canceled: %d queued messages will not be sent.",
                    n,
                )
                % n,
            )
        return back
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk]).get(campaign.pk, {})
    context = _context(
        model_admin,
        request,
        title=f"Cancel {campaign.name}?",
        campaign=campaign,
        queued=counts.get(Bucket.IN_QUEUE, 0),
        settled=sum(
            n
            for key, n in counts.items()
            if key not in (Bucket.IN_QUEUE, Bucket.DELETED_LEADS)
        ),
    )
    return TemplateResponse(request, "campaigns/campaign_cancel.html", context)
