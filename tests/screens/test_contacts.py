"""The portal's contacts: add, edit and delete a lead; lists and their members; opt-outs."""

import io

import pytest

from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from campaigns.models import Lead
from messaging.models import OptOut, OptOutEvent
from tests import factories

pytestmark = pytest.mark.django_db


def test_lead_add_reads_the_number_as_typed_with_fields_and_lists(
    portal_client, account
):
    # given
    lead_list = factories.LeadListFactory(account=account, name="Clients")
    # when
    response = portal_client.post(
        reverse("portal:campaigns_lead_add"),
        {
            "phone": "(202) 555-0143",
            "first_name": "Ada",
            "last_name": "King",
            "fields": "city = Boston\nplan = gold",
            "lists": [lead_list.pk],
        },
    )
    # then
    lead = Lead.objects.get(account=account)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:campaigns_lead_edit", args=[lead.pk])
    assert lead.phone == "+12025550143"
    assert lead.checked_phone == "+12025550143"  # saved through lead_create
    assert lead.fields == {"city": "Boston", "plan": "gold"}
    assert list(lead.lists.all()) == [lead_list]
    page = portal_client.get(response["Location"]).content.decode()
    assert "Lead added." in page
    assert "city = Boston" in page  # custom fields shown for editing


def test_lead_add_names_the_lead_that_has_the_number(portal_client, account):
    existing = factories.LeadFactory(account=account, phone="+12025550143")
    response = portal_client.post(
        reverse("portal:campaigns_lead_add"), {"phone": "202-555-0143"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "already has a lead with this number" in html
    assert reverse("portal:campaigns_lead_edit", args=[existing.pk]) in html


def test_lead_add_refuses_what_is_not_a_number(portal_client, account):
    response = portal_client.post(reverse("portal:campaigns_lead_add"), {"phone": "12"})
    assert response.status_code == 200
    assert "This is not a phone number" in response.content.decode()
    assert not Lead.objects.exists()


def test_lead_edit_changes_fields_and_lists(portal_client, account):
    old, new = factories.LeadListFactory.create_batch(2, account=account)
    lead = factories.LeadFactory(account=account, fields={"city": "Boston"})
    lead.lists.add(old)
    response = portal_client.post(
        reverse("portal:campaigns_lead_edit", args=[lead.pk]),
        {"phone": lead.phone, "first_name": "Bo", "fields": "", "lists": [new.pk]},
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert (lead.first_name, lead.fields) == ("Bo", {})
    assert list(lead.lists.all()) == [new]


def test_lead_pages_of_another_account_are_404(portal_client):
    foreign = factories.LeadFactory()
    for name in ("campaigns_lead_edit", "campaigns_lead_remove"):
        assert (
            portal_client.get(reverse(f"portal:{name}", args=[foreign.pk])).status_code
            == 404
        )
    foreign_list = factories.LeadListFactory()
    response = portal_client.get(
        reverse("portal:campaigns_leadlist_change", args=[foreign_list.pk])
    )
    assert response.status_code == 404


def test_lead_edit_offers_only_the_accounts_lists(portal_client, account):
    factories.LeadListFactory(name="Theirs")
    factories.LeadListFactory(account=account, name="Ours")
    html = portal_client.get(reverse("portal:campaigns_lead_add")).content.decode()
    assert "Ours" in html and "Theirs" not in html


def test_lead_delete_asks_then_soft_deletes(portal_client, account):
    lead = factories.LeadFactory(account=account)
    url = reverse("portal:campaigns_lead_remove", args=[lead.pk])
    assert "Yes, delete the lead" in portal_client.get(url).content.decode()
    response = portal_client.post(url)
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.deleted_at is not None  # soft: campaigns still count it
    changelist = portal_client.get(reverse("portal:campaigns_lead_changelist"))
    assert lead.phone not in changelist.content.decode()


def _action(client, action: str, leads, **extra):
    return client.post(
        reverse("portal:campaigns_lead_changelist"),
        {
            "action": action,
            ACTION_CHECKBOX_NAME: [lead.pk for lead in leads],
            "index": 0,
            **extra,
        },
    )


def test_add_to_list_asks_which_list_then_adds(portal_client, account):
    # given
    leads = factories.LeadFactory.create_batch(2, account=account)
    ours = factories.LeadListFactory(account=account, name="Ours")
    factories.LeadListFactory(name="Theirs")
    # when: the action asks first
    response = _action(portal_client, "add_to_list", leads)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ours" in html and "Theirs" not in html
    # when: the list is chosen
    response = _action(
        portal_client, "add_to_list", leads, apply="1", lead_list=ours.pk
    )
    # then
    assert response.status_code == 302
    assert set(ours.leads.all()) == set(leads)
    page = portal_client.get(response["Location"]).content.decode()
    assert "2 leads added to Ours." in page


def test_add_to_list_refuses_another_accounts_list(portal_client, account):
    lead = factories.LeadFactory(account=account)
    theirs = factories.LeadListFactory()
    response = _action(
        portal_client, "add_to_list", [lead], apply="1", lead_list=theirs.pk
    )
    assert response.status_code == 200  # asked again: not a choice
    assert not theirs.leads.exists()


def test_remove_from_list(portal_client, account):
    leads = factories.LeadFactory.create_batch(2, account=account)
    lead_list = factories.LeadListFactory(account=account, name="Ours")
    lead_list.leads.add(*leads)
    response = _action(
        portal_client, "remove_from_list", leads[:1], apply="1", lead_list=lead_list.pk
    )
    assert response.status_code == 302
    assert list(lead_list.leads.all()) == leads[1:]


def test_leads_filter_by_list(portal_client, account):
    inside, outside = factories.LeadFactory.create_batch(2, account=account)
    lead_list = factories.LeadListFactory(account=account, name="Ours")
    lead_list.leads.add(inside)
    response = portal_client.get(
        reverse("portal:campaigns_lead_changelist"), {"list": lead_list.pk}
    )
    html = response.content.decode()
    assert inside.phone in html and outside.phone not in html


def test_list_page_shows_members_and_counts(portal_client, account):
    # given: 3 members, one opted out, one deleted
    lead_list = factories.LeadListFactory(account=account, name="Ours")
    kept, opted, deleted = factories.LeadFactory.create_batch(3, account=account)
    lead_list.leads.add(kept, opted, deleted)
    OptOut.objects.create(account=account, phone=opted.phone, source="staff")
    Lead.objects.filter(pk=deleted.pk).update(deleted_at="2026-01-01T00:00Z")
    factories.LeadFactory(account=account)  # not a member
    # when
    response = portal_client.get(
        reverse("portal:campaigns_leadlist_change", args=[lead_list.pk])
    )
    # then
    assert response.context["counts"] == {"members": 3, "opted_out": 1, "deleted": 1}
    html = response.content.decode()
    for lead in (kept, opted, deleted):
        assert lead.phone in html
    assert "Opted out" in html and "Deleted" in html


def test_list_add_on_the_portal(portal_client, account):
    response = portal_client.post(
        reverse("portal:campaigns_leadlist_add"), {"account": account.pk, "name": "New"}
    )
    assert response.status_code == 302
    assert account.lead_lists.get().name == "New"


def test_opt_out_by_hand_is_audited_with_the_user(portal_client, account, member):
    response = portal_client.post(
        reverse("portal:messaging_optout_add"),
        {"phone": "(202) 555-0143", "detail": "Asked by phone", "_opt_out": "1"},
    )
    assert response.status_code == 302
    assert OptOut.objects.filter(account=account, phone="+12025550143").exists()
    event = OptOutEvent.objects.get(account=account)
    assert (event.opted_out, event.actor, event.detail) == (
        True,
        member,
        "Asked by phone",
    )
    page = portal_client.get(response["Location"]).content.decode()
    assert "+12025550143 is opted out" in page
    assert "Staff action" in page  # the list says why


def test_opt_in_by_hand_is_audited_with_the_user(portal_client, account, member):
    OptOut.objects.create(account=account, phone="+12025550143", source="keyword")
    portal_client.post(
        reverse("portal:messaging_optout_add"),
        {"phone": "202-555-0143", "_opt_in": "1"},
    )
    assert not OptOut.objects.exists()
    event = OptOutEvent.objects.get(account=account)
    assert (event.opted_out, event.actor) == (False, member)


def test_opt_in_action_on_the_portal_is_audited(portal_client, account, member):
    opt_out = OptOut.objects.create(
        account=account, phone="+12025550143", source="keyword"
    )
    response = portal_client.post(
        reverse("portal:messaging_optout_changelist"),
        {"action": "opt_in_selected", ACTION_CHECKBOX_NAME: [opt_out.pk], "index": 0},
    )
    assert response.status_code == 302
    assert not OptOut.objects.exists()
    assert OptOutEvent.objects.get().actor == member


def test_opt_out_list_is_the_accounts_and_finds_a_number_as_typed(
    portal_client, account
):
    OptOut.objects.create(account=account, phone="+12025550143", source="keyword")
    OptOut.objects.create(account=account, phone="+12025550999", source="keyword")
    OptOut.objects.create(
        account=factories.AccountFactory(), phone="+12025550144", source="keyword"
    )
    url = reverse("portal:messaging_optout_changelist")
    html = portal_client.get(url).content.decode()
    assert "+12025550143" in html and "+12025550144" not in html
    html = portal_client.get(url, {"q": "(202) 555-0143"}).content.decode()
    assert "+12025550143" in html and "+12025550999" not in html


def test_opt_out_import_opts_out_each_number_and_names_bad_rows(
    portal_client, account, member
):
    OptOut.objects.create(account=account, phone="+12025550100", source="keyword")
    upload = io.BytesIO(b"phone,name\n(202) 555-0143,Ada\n202-555-0100\nnot a number\n")
    upload.name = "stop.csv"
    response = portal_client.post(
        reverse("portal:messaging_optout_import"), {"file": upload}
    )
    html = response.content.decode()
    assert "1 number opted out, 1 already opted out, 1 row not a number." in html
    assert "not a number</td>" in html  # the bad row, named with its row number
    assert set(OptOut.objects.values_list("phone", flat=True)) == {
        "+12025550100",
        "+12025550143",
    }
    event = OptOutEvent.objects.get()
    assert (event.phone, event.actor) == ("+12025550143", member)


def test_lead_edit_says_when_the_number_is_opted_out(portal_client, account):
    lead = factories.LeadFactory(account=account)
    url = reverse("portal:campaigns_lead_edit", args=[lead.pk])
    assert "This number is opted out" not in portal_client.get(url).content.decode()
    OptOut.objects.create(account=account, phone=lead.phone, source="keyword")
    assert "This number is opted out" in portal_client.get(url).content.decode()


def test_delete_action_asks_then_soft_deletes_the_selection(portal_client, account):
    leads = factories.LeadFactory.create_batch(3, account=account)
    response = _action(portal_client, "delete_leads", leads[:2])
    assert response.status_code == 200
    assert "Deleted leads" in response.content.decode()  # says what it means
    assert not Lead.objects.filter(deleted_at__isnull=False).exists()
    response = _action(portal_client, "delete_leads", leads[:2], apply="1")
    assert response.status_code == 302
    assert set(Lead.objects.filter(deleted_at__isnull=False)) == set(leads[:2])


def test_add_to_list_with_every_lead_of_a_search_selected(portal_client, account):
    # given: "select all 2 leads" on a search that finds two of three
    lead_list = factories.LeadListFactory(account=account)
    found = [
        factories.LeadFactory(account=account, last_name="Smith") for _ in range(2)
    ]
    factories.LeadFactory(account=account, last_name="Jones")
    # when
    response = portal_client.post(
        reverse("portal:campaigns_lead_changelist") + "?q=Smith",
        {
            "action": "add_to_list",
            ACTION_CHECKBOX_NAME: [found[0].pk],
            "select_across": "1",
            "index": 0,
            "apply": "1",
            "lead_list": lead_list.pk,
        },
    )
    # then
    assert response.status_code == 302
    assert set(lead_list.leads.all()) == set(found)


def test_a_leads_conversation_links_to_editing_and_deleting_it(portal_client, account):
    lead = factories.LeadFactory(account=account)
    page = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[lead.pk])
    ).content.decode()
    assert reverse("portal:campaigns_lead_edit", args=[lead.pk]) in page
    assert reverse("portal:campaigns_lead_remove", args=[lead.pk]) in page
