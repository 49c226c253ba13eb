"""The webhook: one URL per sender receives everything its provider sends.

/webhooks/<provider>/<sender uuid>/ is answered by WebhookMiddleware, ahead of
the session, CSRF, authentication and message middleware: a provider has no
session, cookie or CSRF token, and at a provider's rate those cost as much as
the request's one write (bench/webhooks.py).
"""

import re
import time
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.db import InterfaceError, OperationalError, connection
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseForbidden,
    HttpResponseNotAllowed,
    HttpResponseNotFound,
)
from django.utils import timezone

from messaging.credentials import credentials_get
from messaging.models import Sender, WebhookEvent
from messaging.providers import PROVIDERS
from messaging.providers.base import Provider, WebhookRequest

WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_PATH = re.compile(
    r"/webhooks/(?P<provider>[a-z]+)/(?P<sender_uuid>[0-9a-f]{8}-[0-9a-f]{4}-"
    r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/"
)
# Reading a sender and decrypting its credentials cost as much as recording the
# webhook, so each process keeps them this long: credentials changed elsewhere
# are picked up within this time, and at once when a request fails the cached
# ones. Only senders that exist are kept: unknown uuids cannot grow the cache.
SENDER_CACHE_SECONDS = 60
_senders: dict[tuple[str, UUID], tuple[float, int, dict[str, str]]] = {}
# Rows per INSERT statement when many are recorded at once (the simulator's).
INSERT_BATCH_SIZE = 500


class WebhookMiddleware:
    """Answer webhooks before the middleware that serves people: sessions, CSRF, logins."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(WEBHOOK_PREFIX):
            return provider_webhook(request)
        return self.get_response(request)


def provider_webhook(request: HttpRequest) -> HttpResponse:
    """Verify a provider's request, record it for the status worker, answer at once.

    Telnyx wants a 2xx within 2 s and every provider retries a slow answer, so
    the request does one write; applying it is the `status` queue's work
    (ingest.webhook_events_apply). Forgeries are refused and record nothing.
    """
    route = WEBHOOK_PATH.fullmatch(request.path_info)
    if route is None or route["provider"] not in PROVIDERS:
        return HttpResponseNotFound("no such webhook")
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    gateway = PROVIDERS[route["provider"]]()
    hook = WebhookRequest(
        # As the provider saw it: a trusted setting, never the Host header.
        url=settings.PORTAL_PUBLIC_URL.rstrip("/") + request.get_full_path(),
        headers=request.headers,
        body=request.body,
        form=_form(request),
    )
    verified = _verified_sender_id(gateway, UUID(route["sender_uuid"]), hook)
    if verified is None:
        return HttpResponseNotFound("no such sender")
    if not verified:
        return HttpResponseForbidden()
    body = hook.body.decode("utf-8", errors="replace")
    _record_checking_the_connection((verified, hook.url, body, hook.form))
    return gateway.acknowledge()


def _record_checking_the_connection(row: tuple[int, str, str, dict]) -> None:
    """Record one webhook on the process's kept connection, with no SELECT 1 before it.

    With CONN_HEALTH_CHECKS Django sends a SELECT 1 before a request's first
    query on a kept connection: a round trip for each webhook. The INSERT
    checks the connection instead: on one that broke since the last request
    it fails, and is made once more on a new connection. (Had it been written
    before the connection broke, the copy is a duplicate receipt: a no-op.)
    """
    kept = connection.connection is not None and not connection.in_atomic_block
    if kept:
        connection.health_check_done = True
    try:
        webhook_events_insert([row])
    except (InterfaceError, OperationalError):
        if not kept:
            raise
        connection.close()
        webhook_events_insert([row])


def _form(request: HttpRequest) -> dict[str, list[str]]:
    """A form-encoded body's fields, read once, within Django's limits on uploads.

    parse_qs, because a QueryDict (request.POST) costs three times as much
    and is only turned back into a dict.
    """
    if request.content_type != "application/x-www-form-urlencoded":
        return {}
    try:
        return parse_qs(
            request.body.decode("ascii", errors="replace"),
            keep_blank_values=True,
            errors="replace",
            max_num_fields=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS,
        )
    except ValueError as exc:  # answered 400, as Django answers too many fields
        raise TooManyFieldsSent(str(exc)) from exc


def _verified_sender_id(
    gateway: Provider, sender_uuid: UUID, hook: WebhookRequest
) -> int | None:
    """The id of the sender hook is for, 0 if it is not authentic, None if no such sender.

    A request that fails against cached credentials is checked again against
    fresh ones, so a credential change refuses nothing while the cache ages.
    """
    key = (gateway.name, sender_uuid)
    expires, sender_id, credentials = _senders.get(key, (0.0, 0, {}))
    if sender_id and expires > time.monotonic():
        if gateway.verify(credentials=credentials, request=hook):
            return sender_id
    sender = Sender.objects.filter(uuid=sender_uuid, provider=gateway.name).first()
    if sender is None:
        _senders.pop(key, None)
        return None
    credentials = credentials_get(sender)
    _senders[key] = (time.monotonic() + SENDER_CACHE_SECONDS, sender.pk, credentials)
    return sender.pk if gateway.verify(credentials=credentials, request=hook) else 0


def webhook_events_insert(rows: Sequence[tuple[int, str, str, dict]]) -> None:
    """Keep requests for the status worker: (sender id, url, body, form) rows, nothing parsed.

    A plain INSERT of the values, with no model instance made: at a
    provider's rate that is a third of the request's time.
    """
    fields = [
        WebhookEvent._meta.get_field(name)
        for name in ("sender", "created_at", "url", "body", "form")
    ]
    table = connection.ops.quote_name(WebhookEvent._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    form = fields[-1]
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())
    for start in range(0, len(rows), INSERT_BATCH_SIZE):
        batch = rows[start : start + INSERT_BATCH_SIZE]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
        params = [
            value
            for sender_id, url, body, fields_sent in batch
            for value in (
                sender_id,
                created_at,
                url,
                body,
                form.get_db_prep_value(fields_sent, connection),
            )
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {values}",
                params,
            )


def webhook_sender_ids(urls: Iterable[str]) -> dict[str, int]:
    """The sender each webhook URL is for, by URL, for those that name one that exists."""
    routes = {}
    for url in set(urls):
        route = WEBHOOK_PATH.search(urlsplit(url).path)
        if route:
            routes[url] = (route["provider"], UUID(route["sender_uuid"]))
    senders = {
        (provider, sender_uuid): pk
        for pk, provider, sender_uuid in Sender.objects.filter(
            uuid__in={sender_uuid for _, sender_uuid in routes.values()}
        ).values_list("pk", "provider", "uuid")
    }
    return {url: senders[route] for url, route in routes.items() if route in senders}
