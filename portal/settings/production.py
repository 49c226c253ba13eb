"""Production settings: the same as base, but refuse to start without a secret key."""

from django.core.exceptions import ImproperlyConfigured

from portal.settings.base import *  # noqa: F403
from portal.settings.base import SECRET_KEY

if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Production needs a long random secret: "
        "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(50))'` "
        "and export DJANGO_SECRET_KEY before starting the portal."
    )

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
