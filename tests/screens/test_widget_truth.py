"""The widget tells the whole truth: every message in one column, one meaning per word."""

from datetime import UTC, datetime, timedelta

import pytest

from django.urls import reverse
from django.utils import timezone

from campaigns.leads import lead_delete
from campaigns.models import Campaign, Lead, LeadImport
from messaging.models import Message
from messaging.statuses import BUCKET_MEANING, STATUS_MEANING, Bucket, Status
from tests import factories
from tests.screens.conftest import campaign_with_messages

pytestmark = pytest.mark.django_db


def _widget_row(portal_client, campaign) -> dict:
    response = portal_client.get(reverse("portal:index"))
    rows = response.context["widgets"][0]["rows"]
    return next(r for r in rows if r["campaign"].pk == campaign.pk)


def test_a_canceled_campaign_shows_every_message_in_one_column(
    portal_client, account, sender, error_code
):
    # given a campaign of 32 canceled after 8 sends: 7 delivered, 1 error
    statuses = [Status.DELIVERED] * 7 + [Status.UNDELIVERED] + [Status.CANCELED] * 24
    campaign = campaign_with_messages(
        account=account, sender=sender, error=error_code, statuses=statuses
    )
    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.CANCELED)
    # when the dashboard is shown
    row = _widget_row(portal_client, campaign)
    # then Sent 7, Error 1, Canceled 24: the visible columns add up to 32
    counts = {b["key"]: b["count"] for b in row["buckets"]}
    assert (counts["sent"], counts["error"], counts["canceled"]) == (7, 1, 24)
    messages = sum(n for key, n in counts.items() if key != Bucket.DELETED_LEADS)
    assert messages == row["total"] == 32
    assert row["progress"] == 100
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert 'data-bucket="canceled">' in html
    assert BUCKET_MEANING[Bucket.CANCELED] in html


def test_deleted_leads_count_only_leads_deleted_after_the_launch(
    portal_client, account, sender
):
    # given a list of three leads, one deleted before the campaign is launched
    leads = factories.LeadListFactory(account=account)
    before, after, kept = factories.LeadFactory.create_batch(3, account=account)
    for lead in (before, after, kept):
        lead.lists.add(leads)
    lead_delete(lead=before)
    campaign = factories.CampaignFactory(
        account=account,
        sender=sender,
        state=Campaign.State.IN_PROGRESS,
        launched_at=timezone.now(),
        fanned_out_at=timezone.now(),
    )
    campaign.lists.add(leads)
    for lead in (after, kept):
        factories.MessageFactory(campaign=campaign, lead=lead, status=Status.DELIVERED)
    # when one lead that was sent to is deleted after the launch
    lead_delete(lead=after)
    # then the widget counts only that one, its tooltip says why, and its
    # drill-down lists it alone
    row = _widget_row(portal_client, campaign)
    counts = {b["key"]: b["count"] for b in row["buckets"]}
    assert counts["deleted_leads"] == 1
    assert counts["sent"] == 2  # its message stays in its column
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert "Leads deleted before the launch are not counted." in html
    drill = portal_client.get(
        reverse("portal:campaigns_campaign_bucket", args=[campaign.pk, "deleted_leads"])
    )
    assert list(drill.context["page"].object_list) == [after]


def test_dashboard_help_explains_every_state_and_column(portal_client, account):
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert 'popovertarget="dashboard-help"' in html
    help_text = html[html.index('id="dashboard-help"') :]
    for state in Campaign.State:
        assert f"<dt>{state.label}</dt>" in help_text
    for bucket in (
        Bucket.IN_QUEUE,
        Bucket.OUTBOX,
        Bucket.SENT,
        Bucket.ERROR,
        Bucket.UNKNOWN,
        Bucket.CANCELED,
        Bucket.DELETED_LEADS,
    ):
        assert f"<dt>{bucket.label}</dt>" in help_text
    assert "Message status: Delivered." in help_text  # what Sent means
    assert "Times are shown in the UTC time zone." in help_text


def test_bulk_sequences_refreshes_only_while_a_campaign_runs(
    portal_client, account, sender, error_code
):
    campaign = campaign_with_messages(account=account, sender=sender, error=error_code)
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert 'id="widget-bulk_sequences" aria-labelledby' in html
    assert 'data-refresh="5"' in html
    Campaign.objects.filter(pk=campaign.pk).update(
        state=Campaign.State.DONE, done_at=timezone.now()
    )
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert "data-refresh" not in html


def test_sms_log_says_sent_the_way_the_widget_does(
    portal_client, account, sender, error_code
):
    # given one message per status the widget shows
    campaign_with_messages(account=account, sender=sender, error=error_code)
    url = reverse("portal:messaging_message_changelist")
    # when the log is shown
    html = portal_client.get(url).content.decode()
    # then the Status menu lists each status under the widget's column word
    assert '<optgroup label="Sent column">' in html
    sent_group = html[html.index('<optgroup label="Sent column">') :]
    assert sent_group[: sent_group.index("</optgroup>")].count("<option") == 1
    assert '<option value="delivered">Delivered</option>' in sent_group
    assert '<option value="sent">Sent to carrier</option>' in html
    assert "Dashboard column" in html and "Sent there means delivered." in html
    # and every row's status has its "?" with its meaning, not only errors
    for status in (Status.QUEUED, Status.SENT, Status.DELIVERED, Status.UNKNOWN):
        assert STATUS_MEANING[status] in html
    assert html.count('class="help-icon" aria-describedby="msg-tip-') == 6
    assert "Counted under Outbox on the dashboard." in html
    # and the Sent column filter finds the delivered messages, like the widget
    rows = portal_client.get(url, {"bucket": "sent"}).context["rows"]
    assert {r["message"].status for r in rows} == {Status.DELIVERED}
    assert len(rows) == 2


@pytest.mark.parametrize("term", ["(202) 555-0021", "202-555-0021", "555-0021"])
@pytest.mark.parametrize(
    "site",
    ["portal:campaigns_lead", "support:campaigns_lead", "support:messaging_message"],
)
def test_phone_search_finds_the_number_as_people_type_it(
    client, member, account, sender, term, site
):
    # given the lead +12025550021 with a message, and another lead
    lead = factories.LeadFactory(account=account, phone="+12025550021")
    factories.LeadFactory(account=account, phone="+12025550099")
    factories.MessageFactory(
        campaign=factories.CampaignFactory(account=account, sender=sender), lead=lead
    )
    if site.startswith("support"):
        member.is_staff = member.is_superuser = True
        member.save()
    client.force_login(member)
    # when the number is searched as typed
    response = client.get(reverse(f"{site}_changelist"), {"q": term})
    # then the lead (or its message) is found, and only it
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert [row.phone for row in found] == ["+12025550021"]


@pytest.mark.parametrize("term", ["(202) 555-0021", "202-555-0021", "555-0021"])
def test_sms_log_number_filter_finds_the_number_as_people_type_it(
    portal_client, account, sender, term
):
    campaign = factories.CampaignFactory(account=account, sender=sender)
    for phone in ("+12025550021", "+12025550099"):
        factories.MessageFactory(
            campaign=campaign, lead=factories.LeadFactory(account=account, phone=phone)
        )
    response = portal_client.get(
        reverse("portal:messaging_message_changelist"), {"q": term}
    )
    assert [r["message"].phone for r in response.context["rows"]] == ["+12025550021"]


@pytest.mark.parametrize(
    ("status", "imported", "created", "failed", "summary"),
    [
        ("done", 5, 1, 0, "Imported 5 leads: 1 new, 4 updated."),
        ("done", 1, 1, 0, "Imported 1 lead: 1 new."),
        ("done", 1, 0, 1, "Imported 1 lead: 1 updated. 1 row not imported."),
        ("done", 0, 0, 3, "No leads imported. 3 rows not imported."),
        ("failed", 2, 2, 0, "Failed after importing 2 leads: 2 new."),
        ("failed", 0, 0, 0, "Failed after importing no leads."),
        ("running", 3, 1, 0, "Imported 3 leads: 1 new, 2 updated so far."),
    ],
)
def test_import_summary_tells_new_from_updated(
    portal_client, account, status, imported, created, failed, summary
):
    imp = LeadImport.objects.create(
        account=account,
        status=status,
        rows_imported=imported,
        rows_created=created,
        rows_failed=failed,
    )
    assert imp.summary == summary
    response = portal_client.get(
        reverse("portal:campaigns_leadimport_change", args=[imp.pk])
    )
    assert summary in response.content.decode()


def test_times_show_in_the_accounts_time_zone_with_its_name(
    portal_client, account, sender
):
    # given an account in New York and a message written at 15:00 UTC
    account.time_zone = "America/New_York"
    account.save()
    message = factories.MessageFactory(
        campaign=factories.CampaignFactory(account=account, sender=sender)
    )
    at = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    Message.objects.filter(pk=message.pk).update(created_at=at)
    # when the SMS log and the lead's history are shown
    log = portal_client.get(reverse("portal:messaging_message_changelist"))
    history = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[message.lead_id])
    )
    # then both say 10:00 and name the zone
    for response in (log, history):
        html = response.content.decode()
        assert "2026-01-05 10:00" in html and "15:00" not in html
        assert "America/New_York" in html
    # and the time zone stays the request's: the next one is UTC again
    assert timezone.get_current_timezone_name() == "UTC"


def test_support_sets_an_accounts_time_zone(client, account):
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    staff.save()
    client.force_login(staff)
    url = reverse("support:portal_account_change", args=[account.pk])
    form = client.get(url).context["adminform"].form
    assert "America/Chicago" in dict(form.fields["time_zone"].choices)
    data = {
        "name": account.name,
        "slug": account.slug,
        "default_country": "US",
        "time_zone": "America/Chicago",
        "send_window_start": "08:00",
        "send_window_end": "21:00",
        "help_reply": account.help_reply,
        "opt_out_reply": account.opt_out_reply,
        "created_at_0": "2026-01-05",
        "created_at_1": "10:00:00",
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    account.refresh_from_db()
    assert account.time_zone == "America/Chicago"


def test_lead_history_puts_the_info_bubble_by_the_error_under_the_text(
    portal_client, account, sender, error_code
):
    message = factories.MessageFactory(
        campaign=factories.CampaignFactory(account=account, sender=sender),
        status=Status.UNDELIVERED,
        error=error_code,
        body="See you Sunday",
    )
    html = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[message.lead_id])
    ).content.decode()
    body, line = html.index("See you Sunday"), html.index('class="error-line"')
    bubble = html.index(f'aria-describedby="error-{message.pk}"')
    assert body < line < bubble
    assert f'role="tooltip" id="error-{message.pk}"' in html


def test_deleted_lead_query_count_does_not_grow_with_deleted_leads(
    django_assert_num_queries, account, sender
):
    from campaigns.selectors import campaign_bucket_counts

    campaign = factories.CampaignFactory(
        account=account, sender=sender, launched_at=timezone.now() - timedelta(hours=1)
    )
    for _ in range(20):
        lead_delete(lead=factories.MessageFactory(campaign=campaign).lead)
    with django_assert_num_queries(2):
        counts = campaign_bucket_counts(campaign_ids=[campaign.pk])
    assert counts[campaign.pk]["deleted_leads"] == 20
    assert Lead.objects.filter(deleted_at__isnull=False).count() == 20
