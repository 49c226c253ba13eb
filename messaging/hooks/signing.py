"""Signatures of outbound webhooks: HMAC-SHA256 over "timestamp.body" (README)."""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "Portal-Signature"


def hook_secret_new() -> str:
    """A fresh endpoint secret: 32 random bytes, url-safe, with a recognisable prefix."""
    return "whsec_" + secrets.token_urlsafe(32)


def hook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under secret."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def hook_signature_header(*, secrets_: list[str], body: bytes, timestamp: int) -> str:
    """The header value "t=<unix>,v1=<hex>[,v1=<hex>]": one v1 per secret in use."""
    parts = [f"t={timestamp}"] + [
        f"v1={hook_signature(secret=s, timestamp=timestamp, body=body)}"
        for s in secrets_
    ]
    return ",".join(parts)
