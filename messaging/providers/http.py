"""HTTP both ways for the real providers: calling their APIs, reading their webhooks."""

import functools
import json
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from messaging.catalog import error_get
from messaging.providers.base import (
    MalformedWebhook,
    ProviderUnavailable,
    Receipt,
    SendResult,
    StatusUpdate,
)
from messaging.statuses import Status, word_status

# Connect fast or give up: a dead provider must not hold a worker's batch, and
# the pipeline retries. Reads allow for the provider's own queueing.
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Keep-alive connections per worker process; a batch sends to one provider.
LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20)
# A failure word only says that it failed; a known code says how (the catalog's
# status: failed at the provider, undelivered by the carrier, expired, or no
# receipt at all, as Bandwidth's 9902 and Telnyx's 40014 are).
FAILURE_STATUSES = frozenset({Status.FAILED, Status.UNDELIVERED})


@functools.cache
def client() -> httpx.Client:
    """The process's one client, so that connections to each provider are reused."""
    return httpx.Client(timeout=TIMEOUT, limits=LIMITS)


def provider_post(url: str, **kwargs: Any) -> httpx.Response:
    """POST to a provider's API; raise ProviderUnavailable for what a retry may fix."""
    try:
        response = client().post(url, **kwargs)
    except httpx.TransportError as exc:  # timeouts, refused and reset connections
        raise ProviderUnavailable(f"{url}: {exc!r}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise ProviderUnavailable(f"{url}: HTTP {response.status_code}")
    return response


def response_json(response: httpx.Response) -> dict:
    """The response body as a dict; a non-JSON body is kept as text."""
    try:
        body = response.json()
    except ValueError:
        return {"text": response.text}
    return body if isinstance(body, dict) else {"body": body}


def refused(response: httpx.Response, code: Any) -> SendResult:
    """A permanent refusal: the provider's code, or the HTTP status when it gave none."""
    return SendResult(
        status=Status.FAILED,
        error_code=str(code) if code else f"http_{response.status_code}",
        payload=response_json(response),
    )


def webhook_json(body: bytes) -> Any:
    """Decode a webhook's JSON body, or say it is malformed."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise MalformedWebhook(f"body is not JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedWebhook("body is JSON nested too deeply to read") from exc


def message_uuid(value: str | None) -> str | None:
    """Our message uuid if value is one (a provider echoes back whatever it was given)."""
    try:
        return str(uuid.UUID(value)) if value else None
    except ValueError:
        return None


def url_message_uuid(url: str) -> str | None:
    """Our message uuid from the ?message= query that webhook_url puts on callbacks."""
    return message_uuid(parse_qs(urlsplit(url).query).get("message", [None])[0])


def receipt(
    *,
    provider: str,
    provider_message_id: str,
    word: str,
    code: Any = None,
    payload: dict,
    uuid_hint: str | None = None,
    carrier: str = "",
) -> Receipt:
    """A receipt from a provider's status word and error code, explained by the catalog."""
    status = word_status(word, provider)
    if status is None:
        raise MalformedWebhook(f"unknown {provider} status {word!r}")
    error = None
    if code not in (None, ""):
        error = error_get(provider=provider, code=str(code), status=status)
        if status in FAILURE_STATUSES and error.known:
            status = Status(error.status)
    return Receipt(
        provider=provider,
        provider_message_id=provider_message_id,
        update=StatusUpdate(
            status=status,
            provider_status=word,
            error=error,
            payload=payload,
            carrier=carrier[:60],
        ),
        message_uuid=uuid_hint,
    )


def require(mapping: Any, *keys: str | int) -> Any:
    """mapping[keys[0]][keys[1]]...; a missing field makes the webhook malformed."""
    value = mapping
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError) as exc:
            path = ".".join(str(key) for key in keys)
            raise MalformedWebhook(f"missing field {path}") from exc
    return value
