"""Portal composer pages: write, check and test a draft campaign; confirm a cancel."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from campaigns.composer import campaign_compose_check, campaign_test_send
from campaigns.forms import CampaignForm
from campaigns.launch import STANDARD_FIELDS, LaunchPreview, LaunchRefused
from campaigns.models import Campaign
from campaigns.schedule import campaign_schedule, campaign_unschedule, scheduled_label
from campaigns.selectors import campaign_bucket_counts
from campaigns.sequence_forms import MOVE_UP, REMOVE
from campaigns.services import (
    CampaignNotCancelable,
    CampaignNotDraft,
    campaign_cancel,
    campaign_create,
    campaign_update,
    cancel_summary,
    not_cancelable_reason,
)
from messaging.models import Sender
from messaging.outbound import SendRefused
from messaging.statuses import Bucket
from portal.models import Account
from portal.services import InsufficientCredit
from portal.sites import admin_page_context, request_account_ids

# Buttons that only redraw the page with what is typed: nothing is saved.
PAGE_ONLY = {"_preview", MOVE_UP, REMOVE}


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
    sender = data.get("sender")
    if sender is not None and not isinstance(sender, Sender):  # a saved draft's id
        sender = Sender.objects.filter(account=data["account"], pk=sender).first()
    return campaign_compose_check(
        account=data["account"],
        body=data.get("body") or "",
        field_defaults=data.get("field_defaults") or {},
        list_ids=[getattr(x, "pk", x) for x in data.get("lists") or []],
        sender=sender,
        later_bodies=[step["body"] for step in data.get("steps") or []],
    )


def _compose_schedule(request: HttpRequest, form: CampaignForm, campaign) -> None:
    """Schedule the saved draft at the form's time (or unschedule it); say how it went."""
    at = form.cleaned_data.get("scheduled_at")
    if at is None:
        unscheduled = campaign_unschedule(campaign_id=campaign.pk, actor=request.user)
        messages.success(
            request,
            "Draft saved and unscheduled: launch it from its page when it is ready."
            if unscheduled
            else "Draft saved. Check it and launch it when it is ready.",
        )
        return
    try:
        campaign = campaign_schedule(
            campaign_id=campaign.pk,
            at=at,
            actor=request.user,
            confirm_warnings=form.cleaned_data.get("confirm_warnings", False),
        )
    except LaunchRefused as refused:
        campaign_unschedule(campaign_id=campaign.pk, actor=request.user)
        messages.error(
            request,
            "Draft saved, but not scheduled: "
            + " ".join(refused.problems or refused.warnings)
            + ("" if refused.problems else " Tick the box to launch anyway."),
        )
    else:
        messages.success(
            request,
            f"Draft saved. {scheduled_label(campaign)}: it launches by itself then, "
            "and you can edit or unschedule it until then.",
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
        elif not PAGE_ONLY.intersection(request.POST) and valid:
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
                _compose_schedule(request, form, campaign)
                return HttpResponseRedirect(
                    reverse(
                        f"{model_admin.admin_site.name}:campaigns_campaign_change",
                        args=[campaign.pk],
                    )
                )
    site = model_admin.admin_site.name
    context = admin_page_context(
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
    campaign = model_admin.get_object(request, object_id)
    back = HttpResponseRedirect(
        reverse(
            f"{model_admin.admin_site.name}:campaigns_campaign_change",
            args=[campaign.pk],
        )
    )
    if not campaign.can_cancel():
        messages.error(request, not_cancelable_reason(campaign))
        return back
    if request.method == "POST":
        try:
            n = campaign_cancel(campaign_id=campaign.pk, actor=request.user)
        except CampaignNotCancelable as refused:
            messages.error(request, str(refused))
        else:
            messages.success(request, cancel_summary(n))
        return back
    counts = campaign_bucket_counts(campaign_ids=[campaign.pk]).get(campaign.pk, {})
    context = admin_page_context(
        model_admin,
        request,
        title=f"Cancel {campaign.name}?",
        campaign=campaign,
        queued=counts.get(Bucket.IN_QUEUE, 0),
        later_steps=campaign.steps.count(),
        settled=sum(
            n
            for key, n in counts.items()
            if key not in (Bucket.IN_QUEUE, Bucket.DELETED_LEADS)
        ),
    )
    return TemplateResponse(request, "campaigns/campaign_cancel.html", context)
