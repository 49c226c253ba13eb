"""The portal's webhook endpoint pages: scoped to the account, owners manage, flat query counts."""

import pytest

from django.urls import reverse
from django.utils import timezone

from messaging.hooks.models import HookDelivery, HookEndpoint, HookEvent
from messaging.hooks.services import hook_endpoint_create
from portal.models import Membership
from tests import factories
from tests.hooks.conftest import received

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner_client(client, account):
    user = factories.MembershipFactory(account=account, role=Membership.Role.OWNER).user
    user.save()
    client.force_login(user)
    return client


def _endpoints(account, n, deliveries=1):
    made = []
    for i in range(n):
        endpoint, _ = hook_endpoint_create(
            account_id=account.pk,
            url=f"https://example.com/{account.slug}/{i}",
            event_types=["message.status_changed"],
        )
        for _ in range(deliveries):
            HookDelivery.objects.create(
                endpoint=endpoint,
                first_event_id=1,
                last_event_id=3,
                event_count=3,
                succeeded=False,
                response_status=500,
                error="HTTP 500",
            )
        made.append(endpoint)
    return made


@pytest.mark.parametrize("n", [1, 20])
def test_hook_endpoint_list_query_count_is_flat(
    owner_client, account, n, django_assert_max_num_queries
):
    _endpoints(account, n)
    with django_assert_max_num_queries(9):
        response = owner_client.get(reverse("portal:hooks_hookendpoint_changelist"))
    assert response.status_code == 200
    assert response.content.decode().count("HTTP 500") == n


@pytest.mark.parametrize("n", [1, 20])
def test_hook_endpoint_page_query_count_is_flat(
    owner_client, account, n, django_assert_max_num_queries
):
    [endpoint] = _endpoints(account, 1, deliveries=n)
    with django_assert_max_num_queries(9):
        response = owner_client.get(
            reverse("portal:hooks_hookendpoint_change", args=[endpoint.pk])
        )
    assert response.status_code == 200
    assert response.content.decode().count("HTTP 500") == n


def test_hook_endpoint_of_another_account_is_not_found(owner_client, account):
    [mine] = _endpoints(account, 1)
    [theirs] = _endpoints(factories.AccountFactory(), 1)
    listing = owner_client.get(reverse("portal:hooks_hookendpoint_changelist"))
    assert mine.url in listing.content.decode()
    assert theirs.url not in listing.content.decode()
    page = owner_client.get(
        reverse("portal:hooks_hookendpoint_change", args=[theirs.pk])
    )
    assert page.status_code == 404
    act = owner_client.post(
        reverse("portal:hooks_hookendpoint_act", args=[theirs.pk]),
        {"action": "disable"},
    )
    assert act.status_code == 404
    assert HookEndpoint.objects.get(pk=theirs.pk).state == HookEndpoint.State.ACTIVE


def test_hook_endpoint_added_by_an_owner_shows_its_secret_once(
    owner_client, account, httpserver, verify, django_capture_on_commit_callbacks
):
    response = owner_client.post(
        reverse("portal:hooks_hookendpoint_add"),
        {"url": httpserver.url_for("/hook"), "event_types": ["opt_out.changed"]},
    )
    secret = response.context["secret"]
    assert secret.startswith("whsec_") and secret in response.content.decode()
    endpoint = HookEndpoint.objects.get()
    assert secret not in endpoint.secret_encrypted
    page = owner_client.get(
        reverse("portal:hooks_hookendpoint_change", args=[endpoint.pk])
    )
    assert secret not in page.content.decode()

    # given a receiver, when "Send a test event" is pressed, then it gets a signed test
    httpserver.expect_request("/hook").respond_with_data("ok")
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("portal:hooks_hookendpoint_act", args=[endpoint.pk]),
            {"action": "test"},
        )
    request, _ = httpserver.log[0]
    assert verify(secret, request.headers["Portal-Signature"], request.data)
    assert [e["type"] for e in received(httpserver)] == ["endpoint.test"]


def test_hook_endpoint_url_must_be_public_https_in_production(owner_client, settings):
    settings.HOOKS_ALLOW_LOCAL_URLS = False
    for url, says in [
        ("http://example.com/hook", "must start with https://"),
        ("https://127.0.0.1/hook", "private, loopback or reserved"),
        ("https://10.1.2.3/hook", "private, loopback or reserved"),
        ("https://[::1]/hook", "private, loopback or reserved"),
    ]:
        response = owner_client.post(
            reverse("portal:hooks_hookendpoint_add"),
            {"url": url, "event_types": ["opt_out.changed"]},
        )
        assert says in response.content.decode(), url
    assert not HookEndpoint.objects.exists()


def test_hook_endpoint_staff_see_but_do_not_manage(client, member, account):
    portal_client = client
    portal_client.force_login(member)
    [endpoint] = _endpoints(account, 1)
    page = portal_client.get(
        reverse("portal:hooks_hookendpoint_change", args=[endpoint.pk])
    )
    assert page.status_code == 200 and "Send a test event" not in page.content.decode()
    portal_client.post(
        reverse("portal:hooks_hookendpoint_act", args=[endpoint.pk]),
        {"action": "disable"},
    )
    assert HookEndpoint.objects.get().state == HookEndpoint.State.ACTIVE
    add = portal_client.get(reverse("portal:hooks_hookendpoint_add"))
    assert add.status_code == 403 or "Only the account's owners" in add.content.decode()


def test_hook_replay_since_sends_those_events_again(
    owner_client, account, campaign, httpserver, django_capture_on_commit_callbacks
):
    endpoint, _ = hook_endpoint_create(
        account_id=account.pk,
        url=httpserver.url_for("/hook"),
        event_types=["opt_out.changed"],
    )
    httpserver.expect_request("/hook").respond_with_data("ok")
    from messaging.optouts import opt_out_record

    with django_capture_on_commit_callbacks(execute=True):
        opt_out_record(account_id=account.pk, phone="+12025550100", source="staff")
    assert len(received(httpserver)) == 1
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(
            reverse("portal:hooks_hookendpoint_act", args=[endpoint.pk]),
            {"action": "replay_since", "since": "2000-01-01T00:00"},
        )
    first, again = received(httpserver)
    assert first == again and first["data"]["opted_out"] is True
    assert HookEvent.objects.get().created_at <= timezone.now()
