"""The webhook view: one URL per sender receives everything its provider sends."""

from uuid import UUID

from django.conf import settings
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
)
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from messaging.credentials import credentials_get
from messaging.ingest import webhook_ingest, webhook_keep_malformed
from messaging.models import Sender
from messaging.providers import PROVIDERS
from messaging.providers.base import MalformedWebhook, WebhookRequest


@csrf_exempt  # providers cannot send our CSRF token; verify() authenticates instead
@require_POST
def provider_webhook(
    request: HttpRequest, provider: str, sender_uuid: UUID
) -> HttpResponse:
    """Verify a provider's request, then apply what it says; forgeries change nothing."""
    if provider not in PROVIDERS:
        raise Http404("no such provider")
    sender = get_object_or_404(
        Sender.objects.select_related("account"), uuid=sender_uuid, provider=provider
    )
    gateway = PROVIDERS[provider]()
    hook = WebhookRequest(
        # As the provider saw it: a trusted setting, never the Host header.
        url=settings.PORTAL_PUBLIC_URL.rstrip("/") + request.get_full_path(),
        headers=request.headers,
        body=request.body,
        form={key: request.POST.getlist(key) for key in request.POST},
    )
    if not gateway.verify(credentials=credentials_get(sender), request=hook):
        return HttpResponseForbidden()
    try:
        parsed = gateway.parse(request=hook)
    except MalformedWebhook as exc:
        webhook_keep_malformed(provider=provider, body=hook.body, error=str(exc))
        return HttpResponseBadRequest(str(exc))
    webhook_ingest(provider=gateway, parsed=parsed, sender=sender)
    return gateway.acknowledge()
