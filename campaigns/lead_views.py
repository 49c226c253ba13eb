"""Portal pages about leads: a lead's conversation and reply box, the inbox, lead imports."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import ngettext

from campaigns.forms import LeadImportUploadForm, ReplyForm
from campaigns.imports import lead_import_upload
from campaigns.models import Lead, LeadImport
from campaigns.replies import inbox_list, reply_sender_default, reply_senders
from campaigns.selectors import lead_timeline
from messaging.models import Message, OptOut
from messaging.outbound import MAX_BODY_CHARS, SendRefused, message_send
from messaging.segments import GSM7_BASIC, GSM7_EXTENSION
from portal.models import Account
from portal.services import InsufficientCredit
from portal.sites import admin_page_context, request_account_ids

IMPORT_ERRORS_SHOWN = (
    500  # bad rows listed on an import's page; the count says the rest
)
HISTORY_LIMIT = 200  # newest entries shown in a lead's timeline
INBOX_PAGE = 50


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
    timeline = lead_timeline(
        lead=lead, opted_out=opt_out is not None, limit=HISTORY_LIMIT
    )
    context = admin_page_context(
        model_admin,
        request,
        title=f"Conversation with {lead}",
        lead=lead,
        timeline=timeline.entries,
        opt_out=opt_out,
        advice=timeline.advice,
        last_error=timeline.last_error,
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
    context = admin_page_context(
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
    context = admin_page_context(model_admin, request, title="Import leads", form=form)
    return TemplateResponse(request, "campaigns/lead_import_form.html", context)


def lead_import_detail(
    request: HttpRequest, model_admin, object_id: str
) -> HttpResponse:
    """An import's progress (the page refreshes while it runs) and its bad rows."""
    imp = model_admin.get_object(request, object_id)
    context = admin_page_context(
        model_admin,
        request,
        title=str(imp),
        job=imp,
        running=imp.status in (LeadImport.Status.PENDING, LeadImport.Status.RUNNING),
        errors=imp.errors[:IMPORT_ERRORS_SHOWN],
        errors_shown=IMPORT_ERRORS_SHOWN,
    )
    return TemplateResponse(request, "campaigns/lead_import_detail.html", context)
