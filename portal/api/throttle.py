"""The API's rate limit per token.

Its own module: DRF's views read the throttle classes when they are imported,
so this must not import them (portal/api/schema.py does).
"""

from django.conf import settings
from rest_framework import throttling

from portal.models import ApiToken


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API token (per user for sessions, per address otherwise).

    The rate is the API_THROTTLE_RATE setting, read at each request (None: no limit).
    """

    scope = "token"

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATE

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
