"""Sender credentials at rest: a new key is put in place without losing the old ones."""

from io import StringIO

import pytest
from cryptography.fernet import Fernet, InvalidToken

from django.core.management import CommandError, call_command

from messaging.credentials import credentials_encrypt, credentials_get
from messaging.models import Sender
from tests import factories

pytestmark = pytest.mark.django_db

OLD_KEY, NEW_KEY, LOST_KEY = (Fernet.generate_key().decode() for _ in range(3))
TWILIO = {"account_sid": "AC123", "auth_token": "twilio-token"}


def sender_with_credentials(settings, *, key: str, credentials: dict) -> Sender:
    """A sender whose credentials were encrypted when `key` was the current one."""
    settings.PORTAL_CREDENTIALS_KEY, settings.PORTAL_CREDENTIALS_KEY_FALLBACKS = key, []
    return factories.SenderFactory(
        provider="twilio", credentials_encrypted=credentials_encrypt(credentials)
    )


def rotate_credentials() -> str:
    out = StringIO()
    call_command("rotate_credentials", stdout=out)
    return out.getvalue()


def test_credentials_stay_readable_while_a_new_key_is_put_in_place(settings):
    sender = sender_with_credentials(settings, key=OLD_KEY, credentials=TWILIO)

    # when the new key takes over and the old one becomes a fallback
    settings.PORTAL_CREDENTIALS_KEY = NEW_KEY
    settings.PORTAL_CREDENTIALS_KEY_FALLBACKS = [OLD_KEY]

    # then old credentials still read, and new ones are written with the new key
    assert credentials_get(sender) == TWILIO
    token = credentials_encrypt({"auth_token": "fresh"})
    assert Fernet(NEW_KEY).decrypt(token.encode())


def test_rotate_credentials_lets_the_old_key_be_dropped(settings):
    senders = [
        sender_with_credentials(
            settings, key=OLD_KEY, credentials=TWILIO | {"n": str(n)}
        )
        for n in range(3)
    ]
    simulator = factories.SenderFactory()  # no credentials: nothing to rotate
    settings.PORTAL_CREDENTIALS_KEY = NEW_KEY
    settings.PORTAL_CREDENTIALS_KEY_FALLBACKS = [OLD_KEY]

    output = rotate_credentials()

    assert "Re-encrypted the credentials of 3 senders" in output
    settings.PORTAL_CREDENTIALS_KEY_FALLBACKS = []  # the old key is gone
    for n, sender in enumerate(senders):
        sender.refresh_from_db()
        assert credentials_get(sender) == TWILIO | {"n": str(n)}
    simulator.refresh_from_db()
    assert simulator.credentials_encrypted == ""


def test_without_rotation_dropping_the_old_key_loses_the_credentials(settings):
    sender = sender_with_credentials(settings, key=OLD_KEY, credentials=TWILIO)

    settings.PORTAL_CREDENTIALS_KEY = NEW_KEY

    with pytest.raises(InvalidToken):
        credentials_get(sender)


def test_rotate_credentials_names_senders_no_key_opens(settings):
    lost = sender_with_credentials(settings, key=LOST_KEY, credentials=TWILIO)
    kept = sender_with_credentials(settings, key=OLD_KEY, credentials=TWILIO)
    settings.PORTAL_CREDENTIALS_KEY = NEW_KEY
    settings.PORTAL_CREDENTIALS_KEY_FALLBACKS = [OLD_KEY]

    with pytest.raises(CommandError, match=f"senders {lost.pk}: add the key"):
        rotate_credentials()

    # the readable ones are rotated all the same; the lost one is left as it was
    settings.PORTAL_CREDENTIALS_KEY_FALLBACKS = []
    kept.refresh_from_db()
    assert credentials_get(kept) == TWILIO
    before = lost.credentials_encrypted
    lost.refresh_from_db()
    assert lost.credentials_encrypted == before
