"""Login throttling on the portal and support logins; API tokens are not affected."""

from datetime import timedelta

import pytest
import time_machine

from django.urls import reverse
from django.utils import timezone

from portal.api.auth import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db

LIMIT = 5  # AXES_FAILURE_LIMIT's default
LOCKED = "Too many failed logins with this username or from your address."
WRONG = "Please enter the correct username and password"
HOME, OFFICE = "198.51.100.7", "203.0.113.9"


def portal_user():
    user = factories.MembershipFactory().user
    user.save()  # the factory skips the save after set_password
    return user


def support_user():
    return factories.UserFactory(is_staff=True, is_superuser=True)


SITES = {"portal:login": portal_user, "support:login": support_user}


def log_in(client, url: str, user, *, password: str, address: str = HOME):
    return client.post(
        reverse(url),
        {"username": user.username, "password": password, "next": "/"},
        REMOTE_ADDR=address,
    )


def fail(client, url: str, user, *, times: int, address: str = HOME) -> None:
    for _ in range(times):
        log_in(client, url, user, password="wrong", address=address)


@pytest.mark.parametrize("url", SITES)
def test_login_locks_after_repeated_failures_and_says_why(client, url):
    user = SITES[url]()
    fail(client, url, user, times=LIMIT - 2)

    # the last failure allowed still reads as a wrong password
    response = log_in(client, url, user, password="wrong")
    assert response.status_code == 200
    assert WRONG in response.content.decode()
    # the one that reaches the limit is told the login is locked, and for how long
    response = log_in(client, url, user, password="still wrong")
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page
    assert "locked for 15 minutes after the last failure" in page
    assert WRONG not in page


@pytest.mark.parametrize("url", SITES)
def test_right_password_is_refused_until_the_cool_off_ends(client, url):
    user = SITES[url]()
    fail(client, url, user, times=LIMIT)

    refused = log_in(client, url, user, password="password")

    assert refused.status_code == 429
    assert LOCKED in refused.content.decode()
    assert "_auth_user_id" not in client.session
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        accepted = log_in(client, url, user, password="password")
    assert accepted.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_below_the_limit_is_answered_as_usual(client):
    user = portal_user()
    fail(client, "portal:login", user, times=LIMIT - 1)

    response = log_in(client, "portal:login", user, password="password")

    assert response.status_code == 302


def test_lock_is_per_username_and_per_address(client):
    locked, other = portal_user(), portal_user()
    fail(client, "portal:login", locked, times=LIMIT, address=HOME)

    # another user from another address is not affected
    response = log_in(
        client, "portal:login", other, password="password", address=OFFICE
    )
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(other.pk)
    client.logout()
    # the locked username is refused from any address
    response = log_in(
        client, "portal:login", locked, password="password", address=OFFICE
    )
    assert response.status_code == 429
    # and the address that failed is refused for any username
    response = log_in(client, "portal:login", other, password="password", address=HOME)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_behind_a_proxy_the_forwarded_address_is_counted(client, settings):
    settings.PORTAL_PROXY_COUNT = 1
    users = [portal_user() for _ in range(LIMIT + 1)]

    # failures from one client that writes a different X-Forwarded-For each time
    for number, user in enumerate(users[:LIMIT]):
        client.post(
            reverse("portal:login"),
            {"username": user.username, "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",  # the proxy
            HTTP_X_FORWARDED_FOR=f"192.0.2.{number}, {HOME}",
        )

    def attempt(forwarded_for: str) -> int:
        return client.post(
            reverse("portal:login"),
            {"username": users[LIMIT].username, "password": "password"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=forwarded_for,
        ).status_code

    # that client is locked out; another one behind the same proxy is not
    assert attempt(f"192.0.2.99, {HOME}") == 429
    assert attempt(OFFICE) == 302


def test_api_tokens_work_from_a_locked_out_address(client):
    membership = factories.MembershipFactory()
    membership.user.save()
    _, key = api_token_create(account=membership.account, name="integration")
    fail(client, "portal:login", membership.user, times=LIMIT, address="127.0.0.1")

    response = client.get(
        "/api/v1/campaigns/",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        REMOTE_ADDR="127.0.0.1",
    )

    assert response.status_code == 200
