"""API fixtures: an account with a token, a client that sends it, and another account."""

import pytest

from rest_framework.test import APIClient

from portal.api.auth import api_token_create
from tests import factories


@pytest.fixture(autouse=True)
def _no_throttle_leak(settings):
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def token_key(account):
    _, key = api_token_create(account=account, name="test")
    return key


@pytest.fixture
def api(token_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_key}")
    return client


@pytest.fixture
def other_account(db):
    return factories.AccountFactory()
