"""What every API list shares: current attempts, change feeds, search, times, the root, limits."""

import base64
import csv
import io
from datetime import timedelta

import pytest

from django.urls import reverse
from django.utils import timezone

from campaigns.selectors import campaign_bucket_counts
from messaging.catalog import error_get
from messaging.models import Message, OptOut
from messaging.statuses import Status
from portal.api.feed import cursor_encode
from tests import factories

pytestmark = pytest.mark.django_db


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def resent(campaign):
    """A campaign with 2 errors, one of them resent (its first attempt superseded)."""
    error = error_get(provider="twilio", code="30003")
    first, other = factories.MessageFactory.create_batch(
        2, campaign=campaign, status=Status.UNDELIVERED, error=error
    )
    Message.objects.filter(pk=first.pk).update(superseded=True)
    retry = factories.MessageFactory(
        campaign=campaign,
        lead=first.lead,
        attempt=2,
        retry_of=first,
        status=Status.UNDELIVERED,
        error=error,
    )
    return {"superseded": first, "current": [other, retry]}


def test_lists_show_the_current_attempt_like_the_dashboard_and_export(
    api, campaign, resent
):
    # given: the dashboard counts 2 errors
    assert campaign_bucket_counts(campaign_ids=[campaign.pk])[campaign.pk]["error"] == 2
    url = reverse("api:message-list")
    query = {"campaign": campaign.pk, "bucket": "error"}
    current = {m.pk for m in resent["current"]}
    # when / then: the list, the streamed exports agree with it
    assert set(_ids(api.get(url, query))) == current
    export = api.get(reverse("api:campaign-export", args=[campaign.pk]))
    rows = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert {int(row["message_id"]) for row in rows} == current
    export = api.get(reverse("api:message-export"), query)
    rows = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert {int(row["message_id"]) for row in rows} == current
    # history on demand
    everything = current | {resent["superseded"].pk}
    assert set(_ids(api.get(url, {**query, "attempts": "all"}))) == everything
    assert set(_ids(api.get(url, {**query, "superseded": "false"}))) == current
    assert _ids(api.get(url, {**query, "superseded": "true"})) == [
        resent["superseded"].pk
    ]
    (retry,) = [
        m
        for m in api.get(url, query).json()["results"]
        if m["id"] == resent["current"][1].pk
    ]
    assert (retry["attempt"], retry["retry_of"]) == (2, resent["superseded"].pk)


def _feed_pages(api, url: str, query: dict) -> tuple[list[int], str | None]:
    """Follow a feed's next links; return the ids seen and the last cursor."""
    seen, response = [], api.get(url, query)
    while True:
        assert response.status_code == 200, response.json()
        page = response.json()
        seen += [row["id"] for row in page["results"]]
        if page["next"] is None:
            return seen, page["cursor"]
        response = api.get(page["next"])


def test_message_feed_pages_by_change_time_and_id_through_ties(api, campaign):
    # given: a fan-out gives many messages one updated_at
    messages = factories.MessageFactory.create_batch(7, campaign=campaign)
    Message.objects.update(updated_at=timezone.now() - timedelta(minutes=1))
    url = reverse("api:message-list")
    query = {"updated_after": "2000-01-01T00:00:00Z", "page_size": 3}
    # when
    seen, cursor = _feed_pages(api, url, query)
    # then: each once, in (updated_at, id) order
    assert seen == sorted(m.pk for m in messages)
    # a change after the cursor comes again, and only it
    changed = messages[2]
    Message.objects.filter(pk=changed.pk).update(
        status=Status.SENDING, updated_at=timezone.now()
    )
    again = api.get(url, {**query, "cursor": cursor}).json()
    assert [row["id"] for row in again["results"]] == [changed.pk]
    assert again["results"][0]["status"] == "sending"


@pytest.mark.parametrize(
    ("name", "make"),
    [
        (
            "api:campaign-list",
            lambda account: factories.CampaignFactory(account=account),
        ),
        ("api:lead-list", lambda account: factories.LeadFactory(account=account)),
        (
            "api:optout-list",
            lambda account: OptOut.objects.create(
                account=account, phone="+12025550111", source="api"
            ),
        ),
    ],
)
def test_campaigns_leads_and_opt_outs_have_a_feed(api, account, name, make):
    first = make(account)
    url = reverse(name)
    page = api.get(url, {"updated_after": "2000-01-01T00:00:00Z"}).json()
    assert [row["id"] for row in page["results"]] == [first.pk]
    # nothing new: an empty page keeps the cursor to poll with
    later = api.get(
        url, {"updated_after": "2000-01-01T00:00:00Z", "cursor": page["cursor"]}
    ).json()
    assert later["results"] == [] and later["cursor"] == page["cursor"]


def test_lead_feed_shows_deleted_leads_so_a_copy_can_drop_them(api, account):
    lead = factories.LeadFactory(account=account)
    api.delete(reverse("api:lead-detail", args=[lead.pk]))
    page = api.get(reverse("api:lead-list"), {"updated_after": "2000-01-01T00:00Z"})
    (row,) = page.json()["results"]
    assert row["id"] == lead.pk and row["deleted_at"] is not None
    assert _ids(api.get(reverse("api:lead-list"))) == []


def test_feed_holds_back_changes_younger_than_the_safety_margin(
    api, campaign, settings
):
    message = factories.MessageFactory(campaign=campaign)
    url = reverse("api:message-list")
    query = {"updated_after": "2000-01-01T00:00:00Z"}
    settings.API_FEED_SAFETY_SECONDS = 60
    page = api.get(url, query).json()
    assert page["results"] == [] and page["cursor"] is None
    settings.API_FEED_SAFETY_SECONDS = 0
    assert _ids(api.get(url, query)) == [message.pk]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "%%%",
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00|1").decode(),  # naive
        base64.urlsafe_b64encode(b"2026-01-01T00:00:00+00:00|99999999999999999999")
        .decode()
        .rstrip("="),
        base64.b64encode(b"o=0&r=0&p=x").decode(),  # a newest-first cursor, crafted
        base64.b64encode(b"o=0&r=0&p=99999999999999999999").decode(),
    ],
)
@pytest.mark.parametrize("feed", [True, False])
def test_a_crafted_cursor_is_400_naming_it(api, account, cursor, feed):
    query = {"cursor": cursor}
    if feed:
        query["updated_after"] = "2000-01-01T00:00:00Z"
    for name in ["api:message-list", "api:lead-list", "api:campaign-list"]:
        if name != "api:message-list" and not feed:
            continue  # page-numbered when not following changes
        response = api.get(reverse(name), query)
        assert response.status_code == 400, (name, response.content)
        assert "cursor" in response.json()["fields"]
        assert "cursor" in response.json()["detail"]


def test_a_cursor_the_feed_gave_round_trips(api, campaign):
    message = factories.MessageFactory(campaign=campaign)
    cursor = cursor_encode(message.updated_at - timedelta(seconds=1), 0)
    response = api.get(
        reverse("api:message-list"),
        {"updated_after": "2000-01-01T00:00:00Z", "cursor": cursor},
    )
    assert _ids(response) == [message.pk]


@pytest.mark.parametrize(
    "value",
    [
        "2000-01-01T00:00:00 00:00",  # "+00:00" sent unencoded
        "2000-01-01T00:00:00+00:00",
        "2000-01-01T00:00:00Z",
        "2000-01-01 00:00:00",
        "20000101T000000Z",
        "2000-01-01",
        "2000-01-01T05:30:00 05:30",
    ],
)
def test_times_in_any_iso_8601_form(api, campaign, value):
    message = factories.MessageFactory(campaign=campaign)
    response = api.get(reverse("api:message-list"), {"updated_after": value})
    assert _ids(response) == [message.pk]


def test_a_bad_time_names_the_parameter(api, account):
    response = api.get(reverse("api:campaign-list"), {"updated_after": "yesterday"})
    assert response.status_code == 400
    body = response.json()
    assert body["fields"].keys() == {"updated_after"}
    assert "updated_after" in body["detail"] and "ISO 8601" in body["detail"]


def test_errors_search_takes_q_as_its_alias(api):
    error_get(provider="twilio", code="30003")
    url = reverse("api:error-list")
    by_q = api.get(url, {"q": "30008"}).json()["results"]
    assert [e["code"] for e in by_q] == ["30008"]
    assert api.get(url, {"search": "30008"}).json()["results"] == by_q


@pytest.mark.parametrize(
    ("name", "make", "term"),
    [
        (
            "api:lead-list",
            lambda a: factories.LeadFactory(account=a, first_name="Zelda"),
            "zeld",
        ),
        (
            "api:campaign-list",
            lambda a: factories.CampaignFactory(account=a, name="Easter"),
            "east",
        ),
        (
            "api:message-list",
            lambda a: factories.MessageFactory(
                campaign=factories.CampaignFactory(account=a),
                lead=factories.LeadFactory(account=a, first_name="Zelda"),
            ),
            "zelda",
        ),
        (
            "api:optout-list",
            lambda a: OptOut.objects.create(
                account=a, phone="+12025550177", source="api"
            ),
            "0177",
        ),
        (
            "api:leadlist-list",
            lambda a: factories.LeadListFactory(account=a, name="Choir"),
            "choir",
        ),
    ],
)
def test_every_list_searches_with_search_or_q(api, account, name, make, term):
    wanted = make(account)
    make_other = {
        "api:lead-list": lambda: factories.LeadFactory(account=account),
        "api:campaign-list": lambda: factories.CampaignFactory(account=account),
    }.get(name)
    if make_other:
        make_other()
    for parameter in ("search", "q"):
        assert _ids(api.get(reverse(name), {parameter: term})) == [wanted.pk]
    assert _ids(api.get(reverse(name), {"q": "no such thing"})) == []


def test_the_root_lists_every_resource(api, client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    resources = response.json()
    assert {"messages", "campaigns", "leads", "opt_outs", "errors"} <= set(resources)
    for url in resources.values():
        assert api.get(url).status_code == 200, url


def test_a_token_over_its_rate_gets_429_with_retry_after(api, settings):
    settings.API_THROTTLE_RATE = "3/min"
    url = reverse("api:account")
    assert [api.get(url).status_code for _ in range(3)] == [200, 200, 200]
    response = api.get(url)
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert response.json()["code"] == "throttled"
