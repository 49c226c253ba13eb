"""Webhook endpoints in a real browser: add one by keyboard, send a test, read the delivery."""

import pytest

from portal.models import Membership
from tests import factories
from tests.screens.test_browser import ARTIFACTS, _login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_hook_endpoint_added_tested_and_its_delivery_shown(
    page, live_server, chromium, httpserver
):
    account = factories.AccountFactory()
    factories.SenderFactory(account=account)
    user = factories.MembershipFactory(account=account, role=Membership.Role.OWNER).user
    user.save()
    httpserver.expect_request("/hook").respond_with_data('{"ok": true}')
    _login(page, live_server, user)

    page.goto(f"{live_server.url}/hooks/hookendpoint/add/")
    page.screenshot(path=str(ARTIFACTS / "hook-endpoint-add.png"), full_page=True)
    page.get_by_label("URL").fill(httpserver.url_for("/hook"))
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_label("Description").press("Enter")
    secret = page.locator("#hook-secret").input_value()
    assert secret.startswith("whsec_")
    page.get_by_role("link", name="Go to the endpoint").click()

    page.get_by_role("button", name="Send a test event").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=A test event is on its way")
    row = page.locator("#hook-deliveries tbody tr").first
    assert "200 OK" in row.inner_text()
    assert len(httpserver.log) == 1
    page.screenshot(path=str(ARTIFACTS / "hook-endpoint.png"), full_page=True)

    page.goto(f"{live_server.url}/hooks/hookendpoint/")
    assert "CRM sync" in page.locator("#result_list").inner_text()
    page.screenshot(path=str(ARTIFACTS / "hook-endpoints.png"), full_page=True)
