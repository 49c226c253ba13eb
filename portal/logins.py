"""Login throttling: the address a login comes from, and what a locked-out login sees.

django-axes counts the failures (settings: AXES_*); the login forms of both
sites (portal/sites.py) say why a login is refused once it has locked.
"""

import ipaddress

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

# Too Many Requests: the page still shows the form and the reason.
LOCKED_OUT_STATUS = 429


def login_client_address(request: HttpRequest) -> str | None:
    """The address a login is counted against: the connection's, or the one the proxies saw.

    With PORTAL_PROXY_COUNT proxies in front, the address that many places from
    the right of X-Forwarded-For is the one the outermost proxy was reached
    from; whatever stands left of it was written by the client and is ignored.
    """
    count = settings.PORTAL_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if count and len(forwarded) >= count:
        address = forwarded[-count].strip()
        try:
            return str(ipaddress.ip_address(address))
        except ValueError:
            pass  # not written by a proxy: count the connection instead
    return request.META.get("REMOTE_ADDR")


def lockout_message() -> str:
    """What a refused login is told: why, for how long, and that the password was not the cause."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    return (
        f"Too many failed logins with this username or from your address. "
        f"Logging in is locked for {minutes} minutes after the last failure, even "
        f"with the right password. Try again later, or ask support to unlock it."
    )


class LoginForm(AdminAuthenticationForm):
    """The sites' login form: a login refused by the lockout says so instead of 'wrong password'."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                raise ValidationError(lockout_message(), code="locked_out") from None
            raise


def lockout_response(
    request: HttpRequest, response: HttpResponse | None, credentials: dict | None
) -> HttpResponse:
    """Answer a locked-out login with its login page (which names the lockout), as 429."""
    if isinstance(response, TemplateResponse):
        response.status_code = LOCKED_OUT_STATUS
        return response
    return HttpResponse(lockout_message(), status=LOCKED_OUT_STATUS)
