"""Contacts in a real browser: add a lead, put it in a list, opt it out, find it."""

from pathlib import Path

import pytest

from campaigns.models import Lead
from messaging.models import OptOutEvent
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = Path("/work/screens-contacts")


def _shot(tab, name: str) -> None:
    if SCREENS.is_dir():  # looked at by hand; the test does not need it
        tab.screenshot(path=str(SCREENS / name), full_page=True)


def test_add_a_lead_list_it_opt_it_out_and_find_it(page, live_server):
    # given: a member of an account with one list
    account = factories.AccountFactory()
    user = factories.MembershipFactory(account=account).user
    user.save()
    factories.LeadListFactory(account=account, name="Spring clients")
    page.goto(f"{live_server.url}/login/?next=/campaigns/lead/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")

    # add a lead, typed as people type it, with a custom field
    page.click(".object-tools a.addlink")
    page.fill("#id_phone", "(202) 555-0143")
    page.fill("#id_first_name", "Ada")
    page.fill("#id_last_name", "King")
    page.fill("#id_fields", "city = Boston")
    page.click("text=Add the lead")
    page.wait_for_selector("text=Lead added.")
    _shot(page, "lead-form.png")
    lead = Lead.objects.get(account=account)
    assert (lead.phone, lead.fields) == ("+12025550143", {"city": "Boston"})

    # add it to a list from the leads page
    page.click(".breadcrumbs >> text=Leads")
    page.check(f'input[name="_selected_action"][value="{lead.pk}"]')
    page.select_option('select[name="action"]', "add_to_list")
    page.click('button[name="index"]')
    page.select_option("#id_lead_list", label="Spring clients")
    page.click('button[name="apply"]')
    page.wait_for_selector("text=1 lead added to Spring clients.")
    _shot(page, "leads.png")

    # see it on the list's page, counted
    page.goto(f"{live_server.url}/campaigns/leadlist/")
    page.click("text=Spring clients")
    assert page.locator('[data-count="members"]').inner_text() == "1"
    assert page.locator("table.portal-table >> text=Ada King").is_visible()

    # opt it out by hand
    page.goto(f"{live_server.url}/messaging/optout/")
    page.click("text=Opt a number out or in")
    page.fill("#id_phone", "202-555-0143")
    page.fill("#id_detail", "Asked by phone")
    page.click('button[name="_opt_out"]')
    page.wait_for_selector("text=+12025550143 is opted out")
    assert OptOutEvent.objects.get().actor == user

    # find it in the opt-out list, searched as typed
    page.goto(f"{live_server.url}/messaging/optout/")
    page.fill("#searchbar", "(202) 555-0143")
    page.press("#searchbar", "Enter")
    page.wait_for_selector("#result_list >> text=+12025550143")
    _shot(page, "optout-list.png")

    # the list page now counts it as opted out
    page.goto(f"{live_server.url}/campaigns/leadlist/")
    page.click("text=Spring clients")
    assert page.locator('[data-count="opted_out"]').inner_text() == "1"
    _shot(page, "list-page.png")
