import io
import json
from datetime import timedelta

import pytest

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Campaign, Lead
from messaging.catalog import error_get
from messaging.models import OptOut, OptOutEvent
from messaging.statuses import Status
from portal.models import ApiToken, IdempotencyKey
from tests import factories

pytestmark = pytest.mark.django_db


def test_create_token_prints_key_once_and_stores_hash(account):
    out = io.StringIO()
    call_command("create_token", account.slug, "--name", "crm", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    token = ApiToken.objects.get(pk=payload["id"])
    assert payload["token"].startswith(token.prefix)
    assert payload["token"] not in token.key_hash
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {payload['token']}")
    assert client.get(reverse("api:account")).json()["slug"] == account.slug


@pytest.mark.parametrize("header", [None, "Bearer nope", "Bearer a b", "Token x.y"])
def test_bad_or_missing_token_is_401(account, header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get(reverse("api:message-list"))
    assert response.status_code == 401
    assert response.json()["code"] in ("not_authenticated", "authentication_failed")


def test_revoked_token_is_401(api, account):
    ApiToken.objects.update(revoked_at="2026-01-01T00:00:00Z")
    assert api.get(reverse("api:account")).status_code == 401


def test_session_auth_uses_membership(account):
    membership = factories.MembershipFactory(account=account)
    membership.user.save()  # the factory does not save the hashed password
    client = APIClient()
    client.force_login(membership.user)
    assert client.get(reverse("api:account")).json()["slug"] == account.slug


def test_schema_and_docs_are_served_without_cdn(client):
    assert client.get(reverse("api:schema")).status_code == 200
    docs = client.get(reverse("api:docs")).content.decode()
    assert "cdn" not in docs.lower() and "static/drf_spectacular_sidecar" in docs


def _messages(account, n, **kwargs):
    campaign = factories.CampaignFactory(account=account)
    return factories.MessageFactory.create_batch(n, campaign=campaign, **kwargs)


def test_message_list_explains_failures(api, account):
    error = error_get(provider="twilio", code="30003")
    (message,) = _messages(account, 1, status=Status.UNDELIVERED, error=error)
    data = api.get(reverse("api:message-list")).json()["results"][0]
    assert data["id"] == message.pk
    assert data["bucket"] == "error"
    assert data["error_code"] == "30003"
    assert data["error_title"] == error.title
    assert data["error_meaning"] and data["error_resolution"]
    assert data["billable"] == error.billable


def test_message_filters(api, account):
    _messages(account, 2, status=Status.DELIVERED)
    queued = _messages(account, 1)[0]
    url = reverse("api:message-list")
    assert len(api.get(url, {"bucket": "sent"}).json()["results"]) == 2
    assert [m["id"] for m in api.get(url, {"status": "queued"}).json()["results"]] == [
        queued.pk
    ]
    assert len(api.get(url, {"campaign": queued.campaign_id}).json()["results"]) == 1
    assert len(api.get(url, {"number": queued.phone}).json()["results"]) == 1
    future = "2100-01-01T00:00:00Z"
    assert api.get(url, {"updated_after": future}).json()["results"] == []
    assert api.get(url, {"bucket": "nope"}).status_code == 400


def test_other_accounts_objects_are_404(api, other_account):
    message = _messages(other_account, 1)[0]
    lead = factories.LeadFactory(account=other_account)
    for url in [
        reverse("api:message-detail", args=[message.pk]),
        reverse("api:message-event-list", args=[message.pk]),
        reverse("api:lead-detail", args=[lead.pk]),
        reverse("api:campaign-detail", args=[message.campaign_id]),
        reverse("api:campaign-stats", args=[message.campaign_id]),
    ]:
        assert api.get(url).status_code == 404, url
    assert api.get(reverse("api:message-list")).json()["results"] == []


LIST_ENDPOINTS = {
    "api:message-list": lambda account, n: _messages(
        account, n, status=Status.UNDELIVERED, error=error_get(provider="t", code="1")
    ),
    "api:lead-list": lambda account, n: [
        lead.lists.add(factories.LeadListFactory(account=account))
        for lead in factories.LeadFactory.create_batch(n, account=account)
    ],
    "api:campaign-list": lambda account, n: factories.CampaignFactory.create_batch(
        n, account=account
    ),
    "api:leadlist-list": lambda account, n: factories.LeadListFactory.create_batch(
        n, account=account
    ),
    "api:optout-list": lambda account, n: [
        OptOut.objects.create(account=account, phone=f"+1202555{i:04d}", source="api")
        for i in range(n)
    ],
    "api:error-list": lambda account, n: None,
    "api:credit-list": lambda account, n: None,
}


@pytest.mark.parametrize(
    "query",
    [
        {},
        # the change feed (messages: with history)
        {"updated_after": "2000-01-01 00:00:00 00:00", "attempts": "all"},
    ],
)
@pytest.mark.parametrize("name", sorted(LIST_ENDPOINTS))
def test_list_query_count_is_flat(name, query, token_key):
    counts = []
    for n in (1, 50):
        account = factories.AccountFactory()
        from portal.api.auth import api_token_create

        _, key = api_token_create(account=account)
        LIST_ENDPOINTS[name](account, n)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse(name), query)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_lead_crud_and_soft_delete(api, account):
    lead_list = factories.LeadListFactory(account=account)
    url = reverse("api:lead-list")
    response = api.post(
        url,
        {"phone": "(202) 555-0142", "first_name": "Ann", "lists": [lead_list.pk]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    lead = response.json()
    assert lead["phone"] == "+12025550142" and lead["lists"] == [lead_list.pk]
    # the number is recorded as checked: fan-outs will not check it again
    assert Lead.objects.get(pk=lead["id"]).checked_phone == "+12025550142"
    assert api.post(url, {"phone": "+12025550142"}, format="json").status_code == 409
    bad = api.post(url, {"first_name": "x"}, format="json")
    assert bad.status_code == 400 and "phone" in bad.json()["fields"]
    assert api.post(url, {"phone": "12"}, format="json").json()["code"] == (
        "invalid_number"
    )
    detail = reverse("api:lead-detail", args=[lead["id"]])
    assert api.patch(detail, {"last_name": "Lee"}, format="json").json()[
        "last_name"
    ] == ("Lee")
    assert (
        api.patch(detail, {"phone": "+12025550143"}, format="json").status_code == 200
    )
    assert Lead.objects.get(pk=lead["id"]).checked_phone == "+12025550143"
    assert api.get(url, {"list": lead_list.pk}).json()["count"] == 1
    assert api.delete(detail).status_code == 204
    assert Lead.objects.get(pk=lead["id"]).deleted_at is not None
    assert api.get(detail).status_code == 404


def test_lead_opt_out_state_filter(api, account):
    lead = factories.LeadFactory(account=account)
    factories.LeadFactory(account=account)
    OptOut.objects.create(account=account, phone=lead.phone, source="api")
    results = api.get(reverse("api:lead-list"), {"opted_out": "true"}).json()["results"]
    assert [r["id"] for r in results] == [lead.pk]


def test_opt_out_create_and_delete_are_audited(api, account):
    url = reverse("api:optout-list")
    response = api.post(url, {"phone": "202-555-0199"}, format="json")
    assert response.status_code == 201
    assert api.post(url, {"phone": "+12025550199"}, format="json").status_code == 200
    detail = reverse("api:optout-detail", args=[response.json()["id"]])
    assert api.delete(detail).status_code == 204
    events = OptOutEvent.objects.filter(phone="+12025550199").order_by("pk")
    assert [(e.opted_out, e.source) for e in events] == [(True, "api"), (False, "api")]


def test_campaign_create_update_only_while_draft(api, account, sender):
    lead_list = factories.LeadListFactory(account=account)
    url = reverse("api:campaign-list")
    response = api.post(
        url,
        {"name": "Sunday", "body": "Hi", "sender": sender.pk, "lists": [lead_list.pk]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    campaign_id = response.json()["id"]
    detail = reverse("api:campaign-detail", args=[campaign_id])
    assert api.patch(detail, {"body": "Hello"}, format="json").json()["body"] == "Hello"
    Campaign.objects.filter(pk=campaign_id).update(state=Campaign.State.PROCESSING)
    response = api.patch(detail, {"body": "x"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "campaign_state"


def test_cancel_answers_409_once_the_campaign_is_done(api, campaign, monkeypatch):
    url = reverse("api:campaign-cancel", args=[campaign.pk])
    assert api.post(url).json() == {"count": 0}
    # Canceled already, and read as cancelable just before (a race): the state
    # is named, never a 500.
    monkeypatch.setattr(Campaign, "can_cancel", lambda self: True)
    response = api.post(url)
    assert response.status_code == 409
    assert response.json()["code"] == "campaign_state"
    assert response.json()["state"] == Campaign.State.CANCELED


def test_campaign_stats(api, campaign):
    error = error_get(provider="twilio", code="30003")
    factories.MessageFactory.create_batch(
        2, campaign=campaign, status=Status.UNDELIVERED, error=error
    )
    factories.MessageFactory(campaign=campaign, status=Status.DELIVERED)
    data = api.get(reverse("api:campaign-stats", args=[campaign.pk])).json()
    buckets = {b["bucket"]: b["count"] for b in data["buckets"]}
    assert buckets["error"] == 2 and buckets["sent"] == 1 and data["total"] == 3
    assert data["errors"][0]["count"] == 2
    assert data["errors"][0]["meaning"] == error.meaning


class FakeRefused(Exception):
    def __init__(self, problems, warnings):
        self.problems, self.warnings = problems, warnings


@pytest.fixture
def fake_launch(monkeypatch):
    from campaigns.api import campaign_views

    calls = []

    def launch(*, campaign_id, launched_by, confirm_warnings=False):
        calls.append(campaign_id)
        if not confirm_warnings:
            raise FakeRefused([], ["Body has a link"])
        Campaign.objects.filter(pk=campaign_id).update(state=Campaign.State.PROCESSING)
        return Campaign.objects.get(pk=campaign_id)

    monkeypatch.setattr(campaign_views, "campaign_launch", launch)
    monkeypatch.setattr(campaign_views, "LaunchRefused", FakeRefused)
    return calls


def test_launch_maps_warnings_and_is_idempotent(api, campaign, fake_launch):
    url = reverse("api:campaign-launch", args=[campaign.pk])
    response = api.post(url, {}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "confirm_warnings"
    headers = {"HTTP_IDEMPOTENCY_KEY": "k1"}
    first = api.post(url, {"confirm_warnings": True}, format="json", **headers)
    again = api.post(url, {"confirm_warnings": True}, format="json", **headers)
    assert first.status_code == again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert len(fake_launch) == 2  # the retry did nothing
    other = api.post(url, {"confirm_warnings": False}, format="json", **headers)
    assert other.json()["code"] == "idempotency_key_reused"
    assert IdempotencyKey.objects.count() == 1
    response = api.post(url, {"confirm_warnings": True}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "campaign_state"


def test_export_csv_streams_columns(api, campaign):
    from messaging.exports import COLUMNS

    error = error_get(provider="twilio", code="30003")
    factories.MessageFactory.create_batch(
        3, campaign=campaign, status=Status.UNDELIVERED, error=error
    )
    response = api.get(reverse("api:campaign-export", args=[campaign.pk]))
    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].split(",") == COLUMNS and len(lines) == 4
    filtered = api.get(reverse("api:message-export"), {"bucket": "sent"})
    assert len(b"".join(filtered.streaming_content).decode().splitlines()) == 1


def test_error_catalog_and_account(api, account):
    error_get(provider="twilio", code="30003")
    data = api.get(reverse("api:error-list"), {"provider": "twilio", "code": "30003"})
    assert data.json()["results"][0]["code"] == "30003"
    assert api.get(reverse("api:account")).json()["credit_balance"] == 10_000


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"]
)
def test_times_outside_the_calendar_in_utc_are_400_not_500(api, value):
    response = api.get(reverse("api:message-list"), {"updated_after": value})
    assert response.status_code == 400
    assert "updated_after" in response.json()["fields"]


def test_any_iso_offset_works_even_one_postgresql_refuses(api, account):
    (message,) = _messages(account, 1)
    far_east = timezone.get_fixed_timezone(16 * 60 + 13)  # PostgreSQL stops at 15:59
    url = reverse("api:message-list")
    for delta, expected in ((-1, [message.pk]), (0, [])):
        when = (message.updated_at + timedelta(seconds=delta)).astimezone(far_east)
        results = api.get(url, {"updated_after": when.isoformat()}).json()["results"]
        assert [m["id"] for m in results] == expected


@pytest.mark.parametrize("name", ["a\\u0000b", "\\ud800x"])
def test_field_names_postgresql_cannot_store_are_400_not_500(api, campaign, name):
    # JSON text: a test client would refuse to encode a lone surrogate itself.
    body = '{"field_defaults": {"%s": "v"}}' % name  # noqa: UP031
    url = reverse("api:campaign-detail", args=[campaign.pk])
    response = api.patch(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "field_defaults" in response.json()["fields"]
    body = '{"phone": "+12025550123", "fields": {"%s": "v"}}' % name  # noqa: UP031
    response = api.post(reverse("api:lead-list"), body, content_type="application/json")
    assert response.status_code == 400 and "fields" in response.json()["fields"]


def test_idempotency_key_must_be_printable_ascii(api, campaign):
    url = reverse("api:campaign-launch", args=[campaign.pk])
    response = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="clé")
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_invalid"
