"""Sequences and schedules on the portal without JavaScript: composer, campaign page, widget."""

from datetime import UTC, timedelta

import pytest

from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignStep
from messaging.statuses import Status
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def members(account):
    lead_list = factories.LeadListFactory(account=account, name="Members")
    lead_list.leads.add(*factories.LeadFactory.create_batch(2, account=account))
    return lead_list


def _form(sender, members, **extra) -> dict:
    return {
        "name": "Welcome",
        "sender": sender.pk,
        "lists": [members.pk],
        "body": "Hi {first_name}! Reply STOP to opt out.",
        "field_defaults": "",
        "validity_hours": "",
        "stop_on_reply": "on",
        "steps-body": ["Two", "Three", ""],
        "steps-delay": ["1", "2", "1"],
        "steps-unit": ["hours", "days", "days"],
        "steps-send_at": ["", "", ""],
        **extra,
    }


def test_the_composer_saves_steps_in_order_with_their_stop_rules(
    portal_client, sender, members
):
    portal_client.post(
        reverse("portal:campaigns_campaign_add"), _form(sender, members, _save="1")
    )
    campaign = Campaign.objects.get(name="Welcome")
    assert list(
        campaign.steps.values_list("number", "body", "delay", "delay_unit")
    ) == [
        (2, "Two", 1, "hours"),
        (3, "Three", 2, "days"),
    ]
    assert campaign.stop_on_reply and not campaign.stop_on_opt_out
    assert campaign.scheduled_at is None


@pytest.mark.parametrize(
    ("button", "bodies"),
    [({"_step_up": "1"}, ["Three", "Two"]), ({"_step_remove": "0"}, ["Three"])],
)
def test_move_and_remove_redraw_the_page_without_saving(
    portal_client, sender, members, button, bodies
):
    page = portal_client.post(
        reverse("portal:campaigns_campaign_add"), _form(sender, members, **button)
    ).content.decode()
    assert not Campaign.objects.exists()
    shown = [page.index(f">{body}</textarea>") for body in bodies]
    assert shown == sorted(shown)
    assert f"Add step {len(bodies) + 2}" in page


def test_a_step_without_its_delay_says_what_to_fix(portal_client, sender, members):
    form = _form(sender, members, _save="1")
    form["steps-delay"] = ["", "2", "1"]
    page = portal_client.post(reverse("portal:campaigns_campaign_add"), form)
    assert "Step 2: say how long after step 1 it goes" in page.content.decode()
    assert not Campaign.objects.exists()


def test_the_launch_check_counts_every_steps_segments(portal_client, sender, members):
    page = portal_client.post(
        reverse("portal:campaigns_campaign_add"), _form(sender, members, _preview="1")
    ).content.decode()
    assert "step 1: 2; step 2: 2; step 3: 2" in page


def test_a_schedule_is_typed_in_the_accounts_zone_and_shown(
    portal_client, account, sender, members
):
    account.time_zone = "America/Chicago"
    account.save()
    at = (timezone.now() + timedelta(days=3)).astimezone(UTC).replace(tzinfo=None)
    portal_client.post(
        reverse("portal:campaigns_campaign_add"),
        _form(sender, members, _save="1", scheduled_at=at.strftime("%Y-%m-%dT%H:%M")),
    )
    campaign = Campaign.objects.get(name="Welcome")
    assert campaign.state == Campaign.State.DRAFT
    # typed as Chicago time: 5 or 6 hours after the same wall-clock time in UTC
    assert campaign.scheduled_at - at.replace(tzinfo=UTC, second=0, microsecond=0) in (
        timedelta(hours=5),
        timedelta(hours=6),
    )
    dashboard = portal_client.get(reverse("portal:index")).content.decode()
    assert "Scheduled" in dashboard and "(a draft until then)" in dashboard
    page = portal_client.get(
        reverse("portal:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    assert "Unschedule" in page
    portal_client.post(
        reverse("portal:campaigns_campaign_action", args=[campaign.pk, "unschedule"])
    )
    campaign.refresh_from_db()
    assert campaign.scheduled_at is None


def test_a_schedule_in_the_past_is_not_set(portal_client, sender, members):
    response = portal_client.post(
        reverse("portal:campaigns_campaign_add"),
        _form(sender, members, _save="1", scheduled_at="2001-01-01T09:00"),
        follow=True,
    )
    assert "not scheduled: Choose a launch time in the future." in (
        response.content.decode()
    )
    assert Campaign.objects.get(name="Welcome").scheduled_at is None


def test_the_campaign_page_and_widget_show_counts_per_step(
    portal_client, account, sender
):
    campaign = factories.CampaignFactory(
        account=account, sender=sender, state=Campaign.State.IN_PROGRESS
    )
    CampaignStep.objects.create(campaign=campaign, number=2, body="Two", delay=1)
    for step, status in ((1, Status.DELIVERED), (1, Status.SENT), (2, Status.QUEUED)):
        lead = factories.LeadFactory(account=account)
        factories.MessageFactory(campaign=campaign, lead=lead, step=step, status=status)
    page = portal_client.get(
        reverse("portal:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    assert "Messages by step" in page
    assert "1 day after step 1 was sent" in page
    assert "are not texted: only the leads of the lists at the launch are" in page
    dashboard = portal_client.get(reverse("portal:index")).content.decode()
    assert "Per step: step 1 0, step 2 1." in dashboard  # In-queue
    assert "Per step: step 1 1, step 2 0." in dashboard  # Outbox, and Sent
