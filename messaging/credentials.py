"""Sender credentials, encrypted at rest with a key from the environment."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet

from django.conf import settings

from messaging.models import Sender


def _fernet() -> Fernet:
    key = settings.PORTAL_CREDENTIALS_KEY
    if not key:
        # Development only: derive a stable key from the secret key.
        digest = hashlib.sha256(settings.SECRET_KEY.encode()).digest()
        key = base64.urlsafe_b64encode(digest).decode()
    return Fernet(key)


def credentials_encrypt(credentials: dict[str, str]) -> str:
    return _fernet().encrypt(json.dumps(credentials, sort_keys=True).encode()).decode()


def credentials_get(sender: Sender) -> dict[str, str]:
    """Return the sender's decrypted credentials (empty for the simulator)."""
    if not sender.credentials_encrypted:
        return {}
    return json.loads(_fernet().decrypt(sender.credentials_encrypted.encode()))
