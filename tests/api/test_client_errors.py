"""What a client sends never makes the API answer 500, and a leaver's token stops working."""

import pytest

from django.urls import reverse
from rest_framework.test import APIClient

from portal.api.auth import api_token_create
from portal.models import Membership
from tests import factories

pytestmark = pytest.mark.django_db

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    "name",
    ["api:campaign-list", "api:message-list", "api:optout-list", "api:lead-list"],
)
def test_json_nested_100000_levels_is_400(api, name):
    response = api.post(reverse(name), DEEP, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {
        "code": "parse_error",
        "detail": "JSON parse error - the JSON is nested too deeply.",
    }


def client_for(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client


@pytest.fixture
def members_token(account):
    """A token made by a member of the account in the portal, and that membership."""
    membership = factories.MembershipFactory(account=account, role="owner")
    _, key = api_token_create(account=account, name="ci", created_by=membership.user)
    assert client_for(key).get(reverse("api:account")).status_code == 200
    return membership, key


def test_a_token_stops_working_when_its_maker_leaves_the_account(members_token):
    # when the member who made it is removed from the account
    membership, key = members_token
    membership.delete()
    # then
    response = client_for(key).get(reverse("api:account"))
    assert response.status_code == 401
    assert response.json() == {
        "code": "authentication_failed",
        "detail": "The token stopped working when the person who made it left the "
        "account. An owner of the account can make a new one.",
    }


def test_a_token_stops_working_when_its_makers_user_is_deactivated(members_token):
    membership, key = members_token
    membership.user.is_active = False
    membership.user.save()
    assert client_for(key).get(reverse("api:account")).status_code == 401


def test_a_member_of_another_account_too_cannot_keep_using_it(members_token):
    # leaving this account while staying in another one still stops the token
    membership, key = members_token
    Membership.objects.create(user=membership.user, account=factories.AccountFactory())
    membership.delete()
    assert client_for(key).get(reverse("api:account")).status_code == 401


def test_operator_tokens_are_the_accounts_own(account):
    # made with manage.py create_token (no creator) or by support staff in the support site
    _, command_key = api_token_create(account=account)
    staff = factories.UserFactory(is_staff=True)
    _, support_key = api_token_create(account=account, created_by=staff)
    for key in (command_key, support_key):
        assert client_for(key).get(reverse("api:account")).status_code == 200
