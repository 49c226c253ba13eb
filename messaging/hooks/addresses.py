"""Where an outbound webhook may be sent: public HTTPS only, unless debugging (SSRF).

An endpoint URL is checked when it is registered and again before every
delivery, because its name may resolve elsewhere later. Redirects are never
followed (httpx's default), so a receiver cannot bounce a delivery inward.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UrlRefused(Exception):
    """The URL is not one a webhook may be sent to; the message says why."""


def _addresses(
    host: str, port: int
) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"{host} does not resolve to an address.") from exc
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]


def hook_url_check(url: str) -> None:
    """Raise UrlRefused unless url is https:// to public addresses.

    With HOOKS_ALLOW_LOCAL_URLS (debugging and tests), http:// and loopback or
    private addresses are allowed too.
    """
    allow_local = settings.HOOKS_ALLOW_LOCAL_URLS
    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if allow_local else ("https",)):
        raise UrlRefused("The URL must start with https://.")
    if not parts.hostname:
        raise UrlRefused("The URL has no host name.")
    if parts.username or parts.password:
        raise UrlRefused(
            "Put no user name or password in the URL; the signature proves us."
        )
    if allow_local:
        return
    port = parts.port or 443
    for address in _addresses(parts.hostname, port):
        if not address.is_global or address.is_multicast:
            raise UrlRefused(
                f"{parts.hostname} resolves to {address}, a private, loopback or"
                " reserved address: webhooks go to public addresses only."
            )
