"""The provider interface: send, verify a webhook, parse what it says. Nothing else."""

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

from django.conf import settings
from django.http import HttpResponse

from messaging.models import ErrorCode, MessageEvent, Sender
from messaging.statuses import Status


class ProviderUnavailable(Exception):
    """A temporary failure (HTTP 5xx or 429, timeout, connection error): retry later."""


class MalformedWebhook(Exception):
    """An authentic request whose body cannot be understood (answered 400, kept)."""


@dataclass(frozen=True)
class StatusUpdate:
    """One receipt, sweep or portal decision about one message."""

    status: Status
    kind: str = MessageEvent.Kind.RECEIPT
    provider_status: str = ""
    error: ErrorCode | None = None
    occurred_at: datetime | None = None
    payload: dict = field(default_factory=dict)
    # A send result's id at the provider, stored in the same UPDATE as the status.
    provider_message_id: str | None = None
    carrier: str = ""  # the destination's carrier, when the provider names it


@dataclass(frozen=True)
class Receipt:
    """A provider's status report, found by our message uuid or the provider's id."""

    provider: str
    provider_message_id: str
    update: StatusUpdate
    message_uuid: str | None = None
    # The sender whose webhook URL it arrived at: a receipt only changes the
    # messages of that sender's account at its provider.
    sender: Sender | None = None


@dataclass(frozen=True)
class Outgoing:
    """What the portal asks a provider to send."""

    message_uuid: str
    to: str
    from_number: str
    body: str
    status_callback_url: str
    validity_seconds: int | None = None


@dataclass(frozen=True)
class SendResult:
    """The provider's synchronous answer: accepted (sent) or refused with its code."""

    status: Status
    provider_message_id: str | None = None
    provider_status: str = ""
    error_code: str | None = None
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Inbound:
    """A text a person sent to one of the account's numbers, with any MMS media URLs."""

    provider_message_id: str
    from_number: str
    to_number: str
    body: str
    payload: dict = field(default_factory=dict)
    media: tuple[str, ...] = ()


@dataclass(frozen=True)
class WebhookRequest:
    """A webhook as the provider sent it, with the public URL it was sent to."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    form: Mapping[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Parsed:
    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[Inbound] = field(default_factory=list)


class Provider:
    """One SMS provider. Adding one is a module with a subclass and a registry line."""

    name: ClassVar[str]
    catalog: ClassVar[str] = ""  # whose error codes it reports, when not its own name
    credential_keys: ClassVar[tuple[str, ...]] = ()

    @property
    def error_source(self) -> str:
        return self.catalog or self.name

    @contextmanager
    def sending(self) -> Iterator[None]:
        """Around a batch of sends; a provider that can pool work per batch does it here."""
        yield

    def send(self, *, credentials: Mapping[str, str], outgoing: Outgoing) -> SendResult:
        raise NotImplementedError

    def sends_received(
        self, *, credentials: Mapping[str, str], outgoing: Sequence[Outgoing]
    ) -> dict[str, SendResult] | None:
        """The provider's answer to each of these sends it got, by message uuid.

        None when it cannot say. Twilio, Telnyx and Bandwidth document neither an
        idempotency key nor a lookup by our reference for sending a message, so a
        send a dead worker may or may not have made stays unknown for them; their
        receipts, which carry the message uuid, still settle it if it was made.
        """
        return None

    def verify(
        self, *, credentials: Mapping[str, str], request: WebhookRequest
    ) -> bool:
        raise NotImplementedError

    def parse(self, *, request: WebhookRequest) -> Parsed:
        raise NotImplementedError

    def acknowledge(self) -> HttpResponse:
        """The answer to an accepted webhook (Twilio wants empty TwiML)."""
        return HttpResponse(status=200)


def webhook_url(
    provider: str, sender_uuid: str, *, message_uuid: str | None = None
) -> str:
    """The public URL a provider posts to for this sender, as the provider sees it."""
    url = f"{settings.PORTAL_PUBLIC_URL.rstrip('/')}/webhooks/{provider}/{sender_uuid}/"
    return f"{url}?message={message_uuid}" if message_uuid else url
