"""The portal site: dashboard and widgets, drill-down, lead history, SMS log, gear menu."""

import csv

import pytest

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from messaging.exports import COLUMNS
from messaging.models import Message, OptOut, OptOutEvent
from messaging.statuses import BUCKET_MEANING, Bucket, Status
from portal.models import DashboardPreference
from tests import factories
from tests.screens.conftest import campaign_with_messages

pytestmark = pytest.mark.django_db


def test_dashboard_shows_bucket_counts_with_tooltips(
    portal_client, account, sender, error_code
):
    # given
    campaign = campaign_with_messages(account=account, sender=sender, error=error_code)
    # when
    response = portal_client.get(reverse("portal:index"))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert campaign.name in html
    assert 'aria-describedby="tip-%d-error"' % campaign.pk in html  # noqa: UP031
    assert 'role="tooltip" id="tip-%d-error"' % campaign.pk in html  # noqa: UP031
    assert BUCKET_MEANING[Bucket.OUTBOX] in html
    assert error_code.title in html
    row = response.context["widgets"][0]["rows"][0]
    counts = {b["key"]: b["count"] for b in row["buckets"]}
    assert counts == {
        "in_queue": 1,
        "outbox": 1,
        "sent": 2,
        "error": 1,
        "unknown": 1,
        "canceled": 0,
        "deleted_leads": 0,
    }


def test_dashboard_lists_campaigns_newest_first_with_link_to_all(
    portal_client, account, sender
):
    for n in range(12):
        factories.CampaignFactory(account=account, sender=sender, name=f"C{n:02d}")
    response = portal_client.get(reverse("portal:index"))
    rows = response.context["widgets"][0]["rows"]
    assert [r["campaign"].name for r in rows][:2] == ["C11", "C10"]
    assert response.context["widgets"][0]["more"] is True
    assert reverse("portal:campaigns_campaign_changelist") in response.content.decode()


def test_dashboard_empty_states(portal_client):
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert "No campaigns yet" in html
    assert "No errors in the last 7 days" in html


def test_gear_menu_hides_and_shows_a_widget(portal_client, member):
    url = reverse("portal:dashboard-preferences")
    response = portal_client.post(
        url, {"shown": ["inbox", "delivery_monitor", "recent_errors", "credit"]}
    )
    assert response.status_code == 302
    assert DashboardPreference.objects.get(user=member).hidden_widgets == [
        "bulk_sequences"
    ]
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert 'id="widget-bulk_sequences"' not in html
    assert 'value="bulk_sequences">' in html  # still offered, unchecked
    portal_client.post(
        url,
        {
            "shown": [
                "bulk_sequences",
                "inbox",
                "delivery_monitor",
                "recent_errors",
                "credit",
            ]
        },
    )
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert 'id="widget-bulk_sequences"' in html


def test_gear_menu_requires_csrf_token(member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post(reverse("portal:dashboard-preferences"), {"shown": []})
    assert response.status_code == 403
    assert not DashboardPreference.objects.filter(user=member).exists()


def test_drill_down_lists_error_leads_filterable_by_title(
    portal_client, account, sender, error_code
):
    campaign = campaign_with_messages(account=account, sender=sender, error=error_code)
    failed = campaign.messages.get(status=Status.UNDELIVERED)
    url = reverse("portal:campaigns_campaign_bucket", args=[campaign.pk, "error"])
    html = portal_client.get(url).content.decode()
    assert reverse("portal:campaigns_lead_change", args=[failed.lead_id]) in html
    assert error_code.title in html
    html = portal_client.get(url, {"error": "No such title"}).content.decode()
    assert "No leads in Error" in html


def test_drill_down_unknown_bucket_is_404(portal_client, campaign, member, account):
    url = reverse("portal:campaigns_campaign_bucket", args=[campaign.pk, "nope"])
    assert portal_client.get(url).status_code == 404


def test_lead_history_shows_messages_errors_and_opt_outs(
    portal_client, account, sender, error_code
):
    # given
    campaign = campaign_with_messages(
        account=account, sender=sender, error=error_code, statuses=[Status.UNDELIVERED]
    )
    message = campaign.messages.get()
    lead = message.lead
    Message.objects.create(
        account=account,
        lead=lead,
        phone=lead.phone,
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        final_at=timezone.now(),
        body="STOP",
    )
    OptOutEvent.objects.create(
        account=account,
        phone=lead.phone,
        opted_out=True,
        source="keyword",
        detail="STOP",
        created_at=timezone.now(),
    )
    OptOut.objects.create(account=account, phone=lead.phone, source="keyword")
    # when
    response = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[lead.pk])
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert f'popovertarget="error-{message.pk}"' in html
    assert f'role="tooltip" id="error-{message.pk}"' in html
    assert error_code.resolution in html
    assert "Opted out" in html and "From the lead" in html
    assert "This person opted out" in html
    kinds = [item["kind"] for item in response.context["timeline"]]
    assert sorted(kinds) == ["message", "message", "opt"]


def test_lead_history_advises_removing_an_invalid_number(
    portal_client, account, sender
):
    from messaging.models import ErrorCode

    invalid = ErrorCode.objects.filter(number_advice="remove").first()
    campaign = campaign_with_messages(
        account=account, sender=sender, error=invalid, statuses=[Status.UNDELIVERED]
    )
    lead = campaign.messages.get().lead
    html = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[lead.pk])
    ).content.decode()
    assert "Number looks invalid: update or remove it." in html


def test_sms_log_filters_and_explains_errors(
    portal_client, account, sender, error_code
):
    campaign = campaign_with_messages(account=account, sender=sender, error=error_code)
    url = reverse("portal:messaging_message_changelist")
    response = portal_client.get(url, {"bucket": "error"})
    rows = response.context["rows"]
    assert [r["message"].status for r in rows] == [Status.UNDELIVERED]
    html = response.content.decode()
    assert 'role="tooltip"' in html and error_code.meaning in html
    failed = campaign.messages.get(status=Status.UNDELIVERED)
    response = portal_client.get(url, {"q": failed.phone[-4:], "campaign": campaign.pk})
    assert [r["message"].pk for r in response.context["rows"]] == [failed.pk]
    response = portal_client.get(url, {"direction": "inbound"})
    assert "No messages match these filters." in response.content.decode()


def test_sms_log_csv_export_streams_the_filtered_rows_in_the_api_columns(
    portal_client, account, sender, error_code
):
    campaign_with_messages(account=account, sender=sender, error=error_code)
    response = portal_client.get(
        reverse("portal:messaging_message_export"), {"bucket": "sent"}
    )
    assert response.streaming
    rows = list(csv.reader(b"".join(response.streaming_content).decode().splitlines()))
    assert rows[0] == COLUMNS
    assert len(rows) == 3
    assert {
        (row[COLUMNS.index("status")], row[COLUMNS.index("bucket")]) for row in rows[1:]
    } == {("delivered", "sent")}


@pytest.mark.parametrize("rows", [1, 50])
def test_sms_log_csv_export_query_count_is_flat(
    portal_client, account, sender, error_code, django_assert_num_queries, rows
):
    campaign_with_messages(
        account=account,
        sender=sender,
        error=error_code,
        statuses=[Status.UNDELIVERED] * rows,
    )
    url = reverse("portal:messaging_message_export")
    portal_client.get(url)  # warm the session so both runs do the same work
    # session, user, account ids, then one query (or one COPY) for the messages
    with django_assert_num_queries(4):
        response = portal_client.get(url)
        lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == rows + 1


def test_campaign_page_draws_bucket_bar(portal_client, account, sender, error_code):
    campaign = campaign_with_messages(account=account, sender=sender, error=error_code)
    html = portal_client.get(
        reverse("portal:campaigns_campaign_change", args=[campaign.pk])
    ).content.decode()
    assert '<svg class="stacked-bar"' in html
    assert '<svg class="outcomes"' in html  # two delivered messages
    assert "Errors by title" in html and error_code.title in html


def test_portal_login_needs_an_account(client):
    loner = factories.UserFactory()
    loner.save()
    response = client.post(
        reverse("portal:login"), {"username": loner.username, "password": "password"}
    )
    assert response.status_code == 200  # the form again, with an error
    assert "_auth_user_id" not in client.session


def test_portal_login_for_a_member(client, member):
    response = client.post(
        reverse("portal:login"),
        {"username": member.username, "password": "password", "next": "/"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_lead_history_links_the_media_of_an_inbound_mms(portal_client, account):
    lead = factories.LeadFactory(account=account)
    Message.objects.create(
        account=account,
        lead=lead,
        phone=lead.phone,
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        final_at=timezone.now(),
        body="Look\nhttps://media.example.org/1.jpg",
    )
    response = portal_client.get(
        reverse("portal:campaigns_lead_change", args=[lead.pk])
    )
    assert '<a href="https://media.example.org/1.jpg"' in response.content.decode()
