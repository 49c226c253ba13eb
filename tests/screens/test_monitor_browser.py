"""The delivery monitor in a real browser: the dashboard widget's alert, the campaign page."""

from datetime import timedelta
from pathlib import Path

import pytest

from django.conf import settings
from django.utils import timezone

from campaigns.alerts import alerts_sweep
from messaging.catalog import error_get
from messaging.statuses import Status
from portal.models import Membership
from tests import factories
from tests.factories import outcome_messages

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerted(chromium):
    """A campaign 40 minutes into sending, with spam blocks: alerted and paused."""
    account = factories.AccountFactory(pause_on_alert=True)
    sender = factories.SenderFactory(account=account, name="Main line")
    user = factories.UserFactory(email="owner@example.com")
    Membership.objects.create(user=user, account=account, role="owner")
    now = timezone.now()
    campaign = factories.CampaignFactory(
        account=account,
        sender=sender,
        name="Spring sale",
        state="in_progress",
        launched_at=now - timedelta(minutes=45),
        first_sent_at=now - timedelta(minutes=44),
    )
    spam = error_get(provider="twilio", code="30007")
    busy = error_get(provider="twilio", code="30003")
    for minutes in range(0, 40, 3):
        at = now - timedelta(minutes=minutes)
        outcome_messages(
            campaign, Status.DELIVERED, 12, at=at, carrier="T-MOBILE USA, INC."
        )
        outcome_messages(campaign, Status.DELIVERED, 6, at=at)
        outcome_messages(
            campaign, Status.UNDELIVERED, 1, error=busy, at=at, carrier="AT&T"
        )
    outcome_messages(campaign, Status.UNDELIVERED, 6, error=spam, carrier="AT&T")
    outcome_messages(campaign, Status.UNKNOWN, 3)
    factories.MessageFactory.create_batch(4, campaign=campaign)  # still queued
    assert alerts_sweep() == {"raised": 2, "cleared": 0}  # errors, and spam blocks
    return {"user": user, "campaign": campaign}


def test_an_alert_on_the_dashboard_leads_to_the_paused_campaign(
    page, live_server, alerted
):
    ARTIFACTS.mkdir(exist_ok=True)
    campaign = alerted["campaign"]
    page.goto(f"{live_server.url}/login/?next=/")
    page.fill("#id_username", alerted["user"].username)
    page.fill("#id_password", "password")
    page.click("input[type=submit]")
    widget = page.locator("#widget-delivery_monitor")
    widget.wait_for()
    assert widget.locator("[role=alert]").count() == 2
    paused = widget.locator("[role=alert]", has_text="High error rate")
    assert "(paused)" in paused.inner_text()
    alert = widget.locator(
        "[role=alert]", has_text="Spam filter or unregistered sender"
    )
    assert "6 messages blocked as spam" in alert.inner_text()
    assert "Main line" in widget.inner_text()
    page.screenshot(path=str(ARTIFACTS / "monitor-dashboard.png"), full_page=True)

    # by keyboard: focus the campaign's link in the alert and open it
    alert.get_by_role("link", name="Spring sale").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/campaigns/campaign/{campaign.pk}/change/")
    assert "‖ Paused" in page.locator(".paused-box").inner_text()
    assert "4 queued messages held" in page.locator(".paused-box").inner_text()
    assert page.locator("svg.outcomes rect").count() > 10
    carriers = page.locator("table", has_text="carrier not reported").inner_text()
    assert "AT&T" in carriers and "T-MOBILE USA, INC." in carriers
    page.screenshot(path=str(ARTIFACTS / "monitor-campaign.png"), full_page=True)

    page.get_by_role("button", name="Resume sending").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Resumed: 4 held messages are being sent.")
    assert page.locator(".paused-box").count() == 0
