"""A sender at each real provider, with the test credentials of signing.py."""

import itertools

import pytest

from messaging.senders import sender_create
from tests.messaging.providers.signing import CREDENTIALS

_numbers = itertools.count(1)


@pytest.fixture
def gateway_sender(account):
    """A factory: a sender of the account at a provider, with the credentials of signing.py."""

    def make(provider: str, **fields):
        sender = sender_create(
            account=account,
            provider=provider,
            phone_number=f"+1312555{next(_numbers):04d}",
            credentials=CREDENTIALS[provider],
        )
        if fields:
            for name, value in fields.items():
                setattr(sender, name, value)
            sender.save()
        return sender

    return make
