"""Production settings: base with DEBUG off and HTTPS only; refuses to start without its keys.

`manage.py check --deploy --settings=portal.settings.production` prints no
warning with these defaults (tests/portal/test_production.py).
"""

from cryptography.fernet import Fernet

from django.core.exceptions import ImproperlyConfigured

from portal.settings.base import *  # noqa: F403
from portal.settings.base import (
    PORTAL_CREDENTIALS_KEY,
    PORTAL_CREDENTIALS_KEY_FALLBACKS,
    SECRET_KEY,
    env,
)

GENERATE_SECRET_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
GENERATE_CREDENTIALS_KEY = (
    "python -c 'from cryptography.fernet import Fernet; "
    "print(Fernet.generate_key().decode())'"
)


def _refusals() -> list[str]:
    """What is missing or malformed among the keys production needs, in plain words."""
    refusals = []
    if not SECRET_KEY:
        refusals.append(
            "DJANGO_SECRET_KEY is not set: it signs sessions and CSRF tokens. "
            f"Generate a long random one with `{GENERATE_SECRET_KEY}`."
        )
    if not PORTAL_CREDENTIALS_KEY:
        refusals.append(
            "PORTAL_CREDENTIALS_KEY is not set: it encrypts the senders' provider "
            f"credentials in the database. Generate one with `{GENERATE_CREDENTIALS_KEY}`."
        )
    for name, key in [
        ("PORTAL_CREDENTIALS_KEY", PORTAL_CREDENTIALS_KEY),
        *(
            ("PORTAL_CREDENTIALS_KEY_FALLBACKS", k)
            for k in PORTAL_CREDENTIALS_KEY_FALLBACKS
        ),
    ]:
        try:
            if key:
                Fernet(key)
        except ValueError:
            refusals.append(
                f"{name} holds a value that is not a Fernet key (32 url-safe "
                f"base64-encoded bytes). Generate one with `{GENERATE_CREDENTIALS_KEY}`."
            )
    return refusals


if refusals := _refusals():
    raise ImproperlyConfigured(
        "The production settings (portal.settings.production) refuse to start:\n- "
        + "\n- ".join(refusals)
        + "\nSet them in the environment of every web, worker and beat process "
        "(README.md, section Deployment). For development, use `make run` or "
        "DJANGO_SETTINGS_MODULE=portal.settings.local."
    )

DEBUG = False  # whatever DJANGO_DEBUG says: tracebacks would show settings and data
# Outbound webhooks go to public HTTPS addresses only (messaging/hooks/addresses.py).
HOOKS_ALLOW_LOCAL_URLS = False

# HTTPS only. TLS ends at the proxy in front of gunicorn, which must set
# X-Forwarded-Proto (and strip it from what clients send).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# That proxy also appends the client's address to X-Forwarded-For: login
# throttling counts that address, not the proxy's (portal/logins.py).
PORTAL_PROXY_COUNT = env.int("PORTAL_PROXY_COUNT", default=1)
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
# Browsers then refuse plain HTTP to the portal for a year; lower it while
# trying HTTPS out, and turn subdomains off if some of them still serve HTTP.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

# Static files are collected at build time (`manage.py collectstatic`, see
# deploy/Dockerfile) and served by whitenoise with hashed names, cached forever.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
