"""Times on the portal site read in the account's time zone (Account.time_zone)."""

from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from portal.sites import portal_site, request_time_zone


class AccountTimeZoneMiddleware:
    """Activate the user's account time zone for the portal site's pages.

    The support site and the API keep UTC: support sees every account.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)  # templates render inside
        finally:
            timezone.deactivate()

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match and match.namespace == portal_site.name:
            timezone.activate(ZoneInfo(request_time_zone(request)))
        return None
