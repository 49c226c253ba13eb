"""Portal pages for contacts: add, edit and delete a lead; a list's members and counts.

Each view receives the ModelAdmin that mounts it, so lookups go through its
tenant-scoped queryset: another account's lead or list is a 404.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from campaigns.forms import LeadForm
from campaigns.leads import LeadExists, lead_create, lead_delete, lead_update
from campaigns.models import Lead
from campaigns.selectors import lead_list_counts, lead_list_members
from messaging.models import OptOut
from portal.models import Account
from portal.sites import admin_page_context, request_account_ids

MEMBERS_PAGE = 50


def _live_lead(request: HttpRequest, model_admin, object_id: str) -> Lead:
    """The user's lead, not deleted (a deleted lead keeps only its history page)."""
    lead = model_admin.get_object(request, object_id)
    if lead.deleted_at is not None:
        raise Http404("This lead was deleted.")
    return lead


def _url(model_admin, name: str, *args) -> str:
    return reverse(f"{model_admin.admin_site.name}:campaigns_{name}", args=args)


def lead_edit(
    request: HttpRequest, model_admin, object_id: str | None = None
) -> HttpResponse:
    """Add a lead or change one through the lead services; a number already there is named."""
    lead = _live_lead(request, model_admin, object_id) if object_id else None
    accounts = Account.objects.filter(pk__in=request_account_ids(request))
    form = LeadForm(request.POST or None, accounts=accounts, lead=lead)
    if request.method == "POST" and form.is_valid():
        try:
            if lead is None:
                lead = lead_create(
                    account_id=form.cleaned_data["account"].pk, **form.lead_data()
                )
                done = "Lead added."
            else:
                lead_update(lead=lead, **form.lead_data())
                done = "Lead saved."
        except LeadExists:
            existing = Lead.objects.filter(
                account=form.cleaned_data["account"], phone=form.cleaned_data["phone"]
            ).first()
            form.add_error(
                "phone",
                format_html(
                    'The account already has a lead with this number: <a href="{}">{}</a>.',
                    _url(model_admin, "lead_edit", existing.pk),
                    existing,
                ),
            )
        else:
            messages.success(request, done)
            return HttpResponseRedirect(_url(model_admin, "lead_edit", lead.pk))
    context = admin_page_context(
        model_admin,
        request,
        title=f"Edit {lead}" if lead else "Add a lead",
        lead=lead,
        form=form,
        opted_out=lead is not None
        and OptOut.objects.filter(
            account_id=lead.account_id, phone=lead.phone
        ).exists(),
    )
    return TemplateResponse(request, "campaigns/lead_form.html", context)


def lead_delete_confirm(
    request: HttpRequest, model_admin, object_id: str
) -> HttpResponse:
    """Ask, then soft-delete: campaigns keep counting the lead under Deleted leads."""
    lead = _live_lead(request, model_admin, object_id)
    if request.method == "POST":
        lead_delete(lead=lead)
        messages.success(request, f"{lead} deleted.")
        return HttpResponseRedirect(_url(model_admin, "lead_changelist"))
    context = admin_page_context(
        model_admin, request, title=f"Delete {lead}?", lead=lead
    )
    return TemplateResponse(request, "campaigns/lead_delete.html", context)


def lead_list_detail(request: HttpRequest, model_admin, object_id: str) -> HttpResponse:
    """A list's counts and its members, a page at a time, deleted ones marked."""
    lead_list = model_admin.get_object(request, object_id)
    page = Paginator(
        lead_list_members(lead_list_id=lead_list.pk), MEMBERS_PAGE
    ).get_page(request.GET.get("page"))
    context = admin_page_context(
        model_admin,
        request,
        title=lead_list.name,
        lead_list=lead_list,
        counts=lead_list_counts(lead_list_id=lead_list.pk),
        page=page,
    )
    return TemplateResponse(request, "campaigns/lead_list_detail.html", context)
