"""The campaign composer on the portal: create, edit a draft, duplicate, live check, test send."""

import pytest

from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign
from messaging.models import Message, OptOut
from messaging.statuses import Status
from tests import factories
from tests.screens.conftest import campaign_with_messages

pytestmark = pytest.mark.django_db

BODY = "Hi {first_name}, see you Sunday! Reply STOP to opt out."


@pytest.fixture
def people(account):
    leads = factories.LeadListFactory(account=account, name="Members")
    ana = factories.LeadFactory(account=account, first_name="Ana", last_name="Lee")
    ben = factories.LeadFactory(account=account, first_name="Ben", last_name="Ode")
    leads.leads.add(ana, ben)
    OptOut.objects.create(account=account, phone=ben.phone, source="keyword")
    return leads


def _form(sender, lists, **extra) -> dict:
    return {
        "name": "Sunday",
        "sender": sender.pk,
        "lists": [lead_list.pk for lead_list in lists],
        "body": BODY,
        "field_defaults": "first_name = friend",
        "validity_hours": "",
        **extra,
    }


def test_campaigns_have_an_add_button_and_a_composer(portal_client, member):
    changelist = portal_client.get(reverse("portal:campaigns_campaign_changelist"))
    add = reverse("portal:campaigns_campaign_add")
    assert add in changelist.content.decode()
    page = portal_client.get(add)
    assert page.status_code == 200
    assert "Check as you type" in page.content.decode()
    # an empty composer says what is missing, not "0 leads, 0 segments"
    assert "Choose a sender" in page.content.decode()
    assert "Choose the lists to send to" in page.content.decode()


def test_create_saves_a_draft_through_the_service(
    portal_client, member, sender, people
):
    response = portal_client.post(
        reverse("portal:campaigns_campaign_add"), _form(sender, [people], _save="1")
    )
    campaign = Campaign.objects.get(name="Sunday")
    assert response.status_code == 302
    assert response.url == reverse(
        "portal:campaigns_campaign_change", args=[campaign.pk]
    )
    assert campaign.state == Campaign.State.DRAFT
    assert campaign.field_defaults == {"first_name": "friend"}
    assert list(campaign.lists.all()) == [people]
    entry = LogEntry.objects.get(object_id=str(campaign.pk))
    assert entry.user == member and entry.is_addition()


def test_choices_are_scoped_to_the_users_account(portal_client, member, sender, people):
    other = factories.AccountFactory()
    foreign_sender = factories.SenderFactory(account=other)
    foreign_list = factories.LeadListFactory(account=other)
    page = portal_client.get(reverse("portal:campaigns_campaign_add")).content.decode()
    assert foreign_sender.phone_number not in page and foreign_list.name not in page
    response = portal_client.post(
        reverse("portal:campaigns_campaign_add"),
        _form(foreign_sender, [foreign_list], _save="1"),
    )
    assert response.status_code == 200
    assert not Campaign.objects.filter(name="Sunday").exists()


def test_preview_without_javascript_shows_counts_sample_and_skipped(
    portal_client, member, sender, people
):
    page = portal_client.post(
        reverse("portal:campaigns_campaign_add"), _form(sender, [people], _preview="1")
    ).content.decode()
    assert not Campaign.objects.exists()
    assert "2 leads in the lists:</strong> 1 will be texted" in page
    assert "Hi Ana, see you Sunday!" in page
    assert "1 opted out:</strong> Ben Ode" in page


def test_live_check_endpoint_answers_the_panel(portal_client, member, sender, people):
    response = portal_client.post(
        reverse("portal:campaigns_campaign_add_check"),
        _form(sender, [people], body="FREE entry: bit.ly/x"),
    )
    html = response.content.decode()
    assert response.status_code == 200 and "<form" not in html
    assert "link shortener" in html and "free" in html
    assert "does not say how to opt out" in html


def test_edit_changes_a_draft(portal_client, member, sender, people, account):
    draft = factories.CampaignFactory(account=account, sender=sender)
    url = reverse("portal:campaigns_campaign_edit", args=[draft.pk])
    page = portal_client.get(url).content.decode()
    # the form holds the saved draft, and the panel checks it
    assert "Save draft" in page and draft.name in page and "see you Sunday!" in page
    assert "Choose a sender:" not in page
    portal_client.post(url, _form(sender, [people], name="Renamed", _save="1"))
    draft.refresh_from_db()
    assert draft.name == "Renamed"


def test_a_launched_campaign_is_read_only_with_a_reason(
    portal_client, member, sender, people, account
):
    launched = factories.CampaignFactory(
        account=account, sender=sender, state=Campaign.State.IN_PROGRESS
    )
    url = reverse("portal:campaigns_campaign_edit", args=[launched.pk])
    page = portal_client.get(url).content.decode()
    assert "can no longer be changed" in page and "Duplicate as a new draft" in page
    assert "Save draft" not in page
    portal_client.post(url, _form(sender, [people], name="Sneaky", _save="1"))
    launched.refresh_from_db()
    assert launched.name != "Sneaky"


def test_duplicate_makes_a_new_draft(portal_client, member, sender, people, account):
    done = factories.CampaignFactory(
        account=account,
        sender=sender,
        state=Campaign.State.DONE,
        done_at=timezone.now(),
    )
    done.lists.add(people)
    response = portal_client.post(
        reverse("portal:campaigns_campaign_action", args=[done.pk, "duplicate"])
    )
    copy = Campaign.objects.exclude(pk=done.pk).get()
    assert response.url == reverse("portal:campaigns_campaign_edit", args=[copy.pk])
    assert copy.state == Campaign.State.DRAFT and copy.body == done.body
    assert list(copy.lists.all()) == [people]


def test_send_a_test_to_me(portal_client, member, sender, people):
    page = portal_client.post(
        reverse("portal:campaigns_campaign_add"),
        _form(sender, [people], test_phone="(202) 555-0188", _test="1"),
    ).content.decode()
    message = Message.objects.get()
    assert message.phone == "+12025550188"
    assert message.body.startswith("Hi Ana,")
    assert "Test sent to +12025550188" in page
    assert not Campaign.objects.exists()  # a test saves nothing


def test_send_a_test_refuses_a_bad_number_in_words(
    portal_client, member, sender, people
):
    page = portal_client.post(
        reverse("portal:campaigns_campaign_add"),
        _form(sender, [people], test_phone="12", _test="1"),
    ).content.decode()
    assert not Message.objects.exists()
    assert "Test not sent. Cannot send to &#x27;12&#x27;: invalid number." in page


def test_a_draft_offers_no_resend_suppress_or_export(portal_client, member, campaign):
    page = portal_client.get(
        reverse("portal:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    assert "Edit draft" in page
    for absent in ("Resend temporary errors", "Suppress numbers", "Export messages"):
        assert absent not in page
    response = portal_client.post(
        reverse("portal:campaigns_campaign_action", args=[campaign.pk, "resend"])
    )
    assert response.status_code == 302
    assert (
        "there is nothing to redo" in portal_client.get(response.url).content.decode()
    )


def test_a_launched_campaign_with_errors_offers_resend(
    portal_client, member, account, sender, error_code
):
    campaign = campaign_with_messages(
        account=account,
        sender=sender,
        error=error_code,
        statuses=[Status.UNDELIVERED],
    )
    page = portal_client.get(
        reverse("portal:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    assert "Resend temporary errors" in page  # the error is temporary
    assert "Suppress numbers" not in page  # and says to keep the number
    portal_client.post(
        reverse("portal:campaigns_campaign_action", args=[campaign.pk, "resend"])
    )
    entry = LogEntry.objects.get(object_id=str(campaign.pk))
    assert entry.user == member and "Resent 1 message" in entry.change_message


def test_support_reads_the_audit_log(client, portal_client, member, campaign):
    portal_client.post(reverse("portal:campaigns_campaign_cancel", args=[campaign.pk]))
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    page = client.get(reverse("support:admin_logentry_changelist")).content.decode()
    assert member.username in page and "Canceled" in page and campaign.name in page


def _composer_requests(client, campaign, sender, lists) -> dict:
    form = _form(sender, lists)
    return {
        "add": lambda: client.get(reverse("portal:campaigns_campaign_add")),
        "edit": lambda: client.get(
            reverse("portal:campaigns_campaign_edit", args=[campaign.pk])
        ),
        "preview": lambda: client.post(
            reverse("portal:campaigns_campaign_add"), {**form, "_preview": "1"}
        ),
        "check": lambda: client.post(
            reverse("portal:campaigns_campaign_edit_check", args=[campaign.pk]), form
        ),
        "cancel": lambda: client.get(
            reverse("portal:campaigns_campaign_cancel", args=[campaign.pk])
        ),
    }


# Session, user, account ids, then the page's own: choices, the check's one read
# of every lead of the lists (plain tuples), the campaign; with a sender, the
# leads grouped by number prefix for the finish time (a saved draft's sender too);
# a draft opened for editing, its steps.
COMPOSER_BUDGET = {"add": 7, "edit": 12, "preview": 10, "check": 9, "cancel": 7}


@pytest.mark.parametrize("screen", sorted(COMPOSER_BUDGET))
def test_composer_query_count_is_flat(portal_client, member, account, sender, screen):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in (1, 50):
        members = factories.LeadListFactory(account=account)
        members.leads.add(*factories.LeadFactory.create_batch(n, account=account))
        campaign = factories.CampaignFactory(account=account, sender=sender)
        campaign.lists.add(members)
        request = _composer_requests(portal_client, campaign, sender, [members])[screen]
        request()  # warm the session and caches
        with CaptureQueriesContext(connection) as queries:
            assert request().status_code == 200
        counts.append(len(queries))
    assert counts == [COMPOSER_BUDGET[screen]] * 2


def test_a_member_of_two_accounts_sees_whose_each_choice_is(
    portal_client, member, sender, people
):
    second = factories.AccountFactory(name="Second church")
    factories.MembershipFactory(account=second, user=member)
    factories.SenderFactory(account=second, name="Their number")
    page = portal_client.get(reverse("portal:campaigns_campaign_add")).content.decode()
    assert f"Members (2 leads) ({people.account.name})" in page
    assert "(Second church)" in page
    # a list of one account with the sender of the other is refused
    form = _form(sender, [people], account=second.pk, _save="1")
    assert (
        portal_client.post(reverse("portal:campaigns_campaign_add"), form).status_code
        == 200
    )
    assert not Campaign.objects.exists()
