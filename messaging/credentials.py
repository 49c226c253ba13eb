"""Sender credentials, encrypted at rest with keys from the environment.

PORTAL_CREDENTIALS_KEY encrypts; it and PORTAL_CREDENTIALS_KEY_FALLBACKS decrypt,
so that a new key can be put in place while the old one still reads what it
wrote, until credentials_rotate() has re-encrypted every sender.
"""

import json
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from django.conf import settings
from django.db import transaction

from messaging.models import Sender


def _fernet() -> MultiFernet:
    keys = [settings.PORTAL_CREDENTIALS_KEY, *settings.PORTAL_CREDENTIALS_KEY_FALLBACKS]
    return MultiFernet([Fernet(key) for key in keys])


def credentials_encrypt(credentials: dict[str, str]) -> str:
    """Encrypt credentials with the current key."""
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def credentials_decrypt(token: str) -> dict[str, str]:
    """Decrypt what credentials_encrypt wrote, with the current key or a fallback."""
    return json.loads(_fernet().decrypt(token.encode()))


def credentials_get(sender: Sender) -> dict[str, str]:
    """Return the sender's decrypted credentials (empty for the simulator)."""
    if not sender.credentials_encrypted:
        return {}
    return credentials_decrypt(sender.credentials_encrypted)


@dataclass(frozen=True)
class CredentialsRotation:
    rotated: int
    unreadable_sender_ids: list[int]


@transaction.atomic
def credentials_rotate() -> CredentialsRotation:
    """Re-encrypt every sender's credentials with the current key; name those no key opens.

    The senders are locked while it runs, so a credential changed meanwhile is
    neither lost nor written back in its old form.
    """
    fernet = _fernet()
    senders = list(
        Sender.objects.exclude(credentials_encrypted="")
        .order_by("pk")
        .select_for_update()
        .only("pk", "credentials_encrypted")
    )
    rotated, unreadable = [], []
    for sender in senders:
        try:
            token = fernet.rotate(sender.credentials_encrypted.encode())
        except InvalidToken:
            unreadable.append(sender.pk)
            continue
        sender.credentials_encrypted = token.decode()
        rotated.append(sender)
    Sender.objects.bulk_update(rotated, ["credentials_encrypted"], batch_size=500)
    return CredentialsRotation(rotated=len(rotated), unreadable_sender_ids=unreadable)
