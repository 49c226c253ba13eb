"""Sending the outbox: one batch at a time per endpoint, in event order, retried with backoff.

An endpoint is leased by one worker while a batch is on its way, so batches
never overtake each other and a message's events arrive in the order they
happened. A batch that fails stays waiting: the endpoint is tried again after
10 s, 20 s, 40 s... (at most an hour apart) for 24 hours, then it is marked
failing and its events wait for someone to resume or replay it.
"""

import json
import logging
import time
from datetime import datetime, timedelta

import httpx

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from messaging.credentials import credentials_decrypt
from messaging.hooks.addresses import UrlRefused, hook_url_check
from messaging.hooks.models import HookDelivery, HookEndpoint, HookEvent
from messaging.hooks.signing import SIGNATURE_HEADER, hook_signature_header
from messaging.providers.http import client
from messaging.statuses import bucket_of
from portal.publishing import task_publish

logger = logging.getLogger(__name__)

# Events per POST: about 250 KB of JSON, which any web server accepts.
BATCH_SIZE = 500
# A receiver should answer at once and work later; a slow one is a failure.
TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Longer than one POST can take, so a live worker never loses its lease.
LEASE = timedelta(seconds=60)
# A task sends this long, then publishes itself again and lets other work in.
RUN_SECONDS = 50
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 3600
RETRY_WINDOW = timedelta(hours=24)
EXCERPT = 300  # characters of a receiver's answer kept with the attempt

_MESSAGE_FIELDS = (
    "message__uuid",
    "message__phone",
    "message__lead_id",
    "message__campaign_id",
    "message__campaign__name",
)
_ERROR_FIELDS = (
    "error__provider",
    "error__code",
    "error__title",
    "error__meaning",
    "error__resolution",
    "error__temporary",
    "error__billable",
)


def _due(now: datetime) -> Q:
    """Active, not leased by a live worker, and not waiting out a retry delay."""
    return (
        Q(state=HookEndpoint.State.ACTIVE)
        & (Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


def _waiting(endpoint_id: int):
    return HookEvent.objects.filter(endpoint_id=endpoint_id, delivery__isnull=True)


def hook_endpoint_deliver(*, endpoint_id: int) -> int:
    """Send the endpoint's waiting events, a batch at a time; return how many it took.

    Stops at the first failure (the retry is scheduled), when nothing waits,
    or after RUN_SECONDS, when it publishes itself again.
    """
    from messaging.hooks.tasks import hook_deliver_task

    sent = 0
    started = time.monotonic()
    while time.monotonic() - started < RUN_SECONDS:
        now = timezone.now()
        if not HookEndpoint.objects.filter(_due(now), pk=endpoint_id).update(
            leased_until=now + LEASE
        ):
            return sent  # another worker has it, or it is not due
        try:
            taken = _batch_send(HookEndpoint.objects.get(pk=endpoint_id))
        finally:
            HookEndpoint.objects.filter(pk=endpoint_id).update(leased_until=None)
        if taken is None:
            return sent  # failed: the retry is scheduled
        sent += taken
        # Nothing was waiting: an event committed while the lease was held saw
        # its nudge refused, so look once more now that it is released.
        if not taken and not _waiting(endpoint_id).exists():
            return sent
    task_publish(hook_deliver_task, endpoint_id)
    return sent


def _batch_send(endpoint: HookEndpoint) -> int | None:
    """POST the next batch; the number of events acknowledged, or None if it failed."""
    rows = list(
        _waiting(endpoint.pk)
        .order_by("id")
        .values(
            "id",
            "type",
            "created_at",
            "status",
            "data",
            *_MESSAGE_FIELDS,
            *_ERROR_FIELDS,
        )[:BATCH_SIZE]
    )
    if not rows:
        return 0
    body = json.dumps(
        [_event_json(row) for row in rows], cls=DjangoJSONEncoder, separators=(",", ":")
    ).encode()
    outcome = _post(endpoint, body)
    now = timezone.now()
    with transaction.atomic():
        delivery = HookDelivery.objects.create(
            endpoint=endpoint,
            created_at=now,
            first_event_id=rows[0]["id"],
            last_event_id=rows[-1]["id"],
            event_count=len(rows),
            **outcome,
        )
        if delivery.succeeded:
            # By id: an event that committed late with a lower id was not in this batch.
            HookEvent.objects.filter(pk__in=[row["id"] for row in rows]).update(
                delivery=delivery
            )
            HookEndpoint.objects.filter(pk=endpoint.pk).update(
                failures=0, failing_since=None, next_attempt_at=None
            )
            return len(rows)
        _retry_schedule(endpoint, now)
    return None


def _retry_schedule(endpoint: HookEndpoint, now: datetime) -> None:
    """Try again after a doubling delay; past the retry window, mark the endpoint failing."""
    failures = endpoint.failures + 1
    failing_since = endpoint.failing_since or now
    fields: dict = {"failures": failures, "failing_since": failing_since}
    if now - failing_since >= RETRY_WINDOW:
        fields |= {"state": HookEndpoint.State.FAILING, "next_attempt_at": None}
    else:
        delay = min(FIRST_RETRY_SECONDS * 2 ** (failures - 1), MAX_RETRY_SECONDS)
        fields["next_attempt_at"] = now + timedelta(seconds=delay)
    # The state guard keeps a "Disable" pressed meanwhile.
    HookEndpoint.objects.filter(pk=endpoint.pk, state=HookEndpoint.State.ACTIVE).update(
        **fields
    )


def _event_json(row: dict) -> dict:
    """An event as the receiver reads it (README, Outbound webhooks)."""
    data = row["data"]
    if row["type"] == HookEvent.Type.MESSAGE_STATUS:
        data = {
            "message": row["message__uuid"],
            "campaign": row["message__campaign_id"]
            and {
                "id": row["message__campaign_id"],
                "name": row["message__campaign__name"],
            },
            "lead": row["message__lead_id"],
            "phone": row["message__phone"],
            "status": row["status"],
            "bucket": bucket_of(row["status"]).value,
            "error": row["error__code"]
            and {name.removeprefix("error__"): row[name] for name in _ERROR_FIELDS},
        }
    return {
        "id": row["id"],
        "type": row["type"],
        "created_at": row["created_at"],
        "data": data,
    }


def _secrets(endpoint: HookEndpoint) -> list[str]:
    """The secret, and for a day after a rotation the previous one too."""
    secrets_ = [credentials_decrypt(endpoint.secret_encrypted)["secret"]]
    if (
        endpoint.previous_secret_until
        and endpoint.previous_secret_until > timezone.now()
    ):
        secrets_.append(
            credentials_decrypt(endpoint.previous_secret_encrypted)["secret"]
        )
    return secrets_


def _post(endpoint: HookEndpoint, body: bytes) -> dict:
    """POST a signed body; what happened, as HookDelivery fields."""
    started = time.monotonic()
    outcome: dict = {"succeeded": False}
    try:
        hook_url_check(endpoint.url)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "CampaignPortal-Webhooks/1",
            "Portal-Endpoint": str(endpoint.uuid),
            SIGNATURE_HEADER: hook_signature_header(
                secrets_=_secrets(endpoint), body=body, timestamp=int(time.time())
            ),
        }
        response = client().post(
            endpoint.url, content=body, headers=headers, timeout=TIMEOUT
        )
    except UrlRefused as exc:
        outcome["error"] = f"Refused: {exc}"
    except httpx.TimeoutException:
        outcome["error"] = f"No answer within {TIMEOUT.read:g} s"
    except httpx.TransportError as exc:
        outcome["error"] = f"Could not connect: {exc}"[:300]
    else:
        outcome |= {
            "succeeded": response.is_success,
            "response_status": response.status_code,
            "response_excerpt": response.text[:EXCERPT],
        }
        if not response.is_success:
            outcome["error"] = f"HTTP {response.status_code}" + (
                " (redirects are not followed)" if response.is_redirect else ""
            )
    outcome["duration_ms"] = round((time.monotonic() - started) * 1000)
    if not outcome["succeeded"]:
        logger.warning(
            "hooks.delivery.failed",
            extra={"endpoint": endpoint.pk, "error": outcome["error"]},
        )
    return outcome


def hook_deliveries_due() -> int:
    """Publish a delivery for every endpoint with events waiting whose time has come.

    Retries come due here, and so do batches whose nudge was lost with the broker.
    """
    from messaging.hooks.tasks import hook_deliver_task

    waiting = HookEvent.objects.filter(endpoint=OuterRef("pk"), delivery__isnull=True)
    due = list(
        HookEndpoint.objects.filter(_due(timezone.now()))
        .filter(Exists(waiting))
        .values_list("pk", flat=True)
    )
    for endpoint_id in due:
        task_publish(hook_deliver_task, endpoint_id)
    return len(due)
