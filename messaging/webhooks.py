"""The webhook view: one URL per sender receives everything its provider sends."""

import time
from uuid import UUID

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.credentials import credentials_get
from messaging.ingest import webhook_record
from messaging.models import Sender
from messaging.providers import PROVIDERS
from messaging.providers.base import Provider, WebhookRequest

# Reading a sender and decrypting its credentials cost as much as recording the
# webhook, so each process keeps them this long. Only senders that exist are
# kept: unknown uuids cannot grow the cache.
SENDER_CACHE_SECONDS = 60
_senders: dict[tuple[str, UUID], tuple[float, Sender, dict[str, str]]] = {}


@csrf_exempt  # providers cannot send our CSRF token; verify() authenticates instead
@require_POST
def provider_webhook(
    request: HttpRequest, provider: str, sender_uuid: UUID
) -> HttpResponse:
    """Verify a provider's request, record it for the status worker, answer at once.

    Telnyx wants a 2xx within 2 s and every provider retries a slow answer, so
    the request does one write; applying it is the `status` queue's work
    (ingest.webhook_events_apply). Forgeries are refused and record nothing.
    """
    if provider not in PROVIDERS:
        raise Http404("no such provider")
    gateway = PROVIDERS[provider]()
    hook = WebhookRequest(
        # As the provider saw it: a trusted setting, never the Host header.
        url=settings.PORTAL_PUBLIC_URL.rstrip("/") + request.get_full_path(),
        headers=request.headers,
        body=request.body,
        form={key: request.POST.getlist(key) for key in request.POST},
    )
    sender = _verified_sender(gateway, sender_uuid, hook)
    if sender is None:
        return HttpResponseForbidden()
    webhook_record(sender=sender, request=hook)
    return gateway.acknowledge()


def _verified_sender(
    gateway: Provider, sender_uuid: UUID, hook: WebhookRequest
) -> Sender | None:
    """The sender hook is for, if it is authentic; Http404 if there is no such sender.

    A request that fails against cached credentials is checked again against
    fresh ones, so a credential rotation refuses nothing while the cache ages.
    """
    key = (gateway.name, sender_uuid)
    expires, sender, credentials = _senders.get(key, (0.0, None, {}))
    if sender is not None and expires > time.monotonic():
        if gateway.verify(credentials=credentials, request=hook):
            return sender
    sender = get_object_or_404(Sender, uuid=sender_uuid, provider=gateway.name)
    credentials = credentials_get(sender)
    _senders[key] = (time.monotonic() + SENDER_CACHE_SECONDS, sender, credentials)
    return sender if gateway.verify(credentials=credentials, request=hook) else None
