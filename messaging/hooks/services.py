"""Webhook endpoints: register, rotate the secret, disable, resume, test, replay."""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from messaging.credentials import credentials_encrypt
from messaging.hooks.addresses import hook_url_check
from messaging.hooks.models import HookEndpoint, HookEvent
from messaging.hooks.outbox import hook_endpoint_nudge, hook_outbox_write
from messaging.hooks.signing import hook_secret_new
from portal.audit import audit_record

# Receivers get this long to switch to a rotated secret; both sign meanwhile.
PREVIOUS_SECRET_DAYS = 1


def _secret_encrypted(secret: str) -> str:
    return credentials_encrypt({"secret": secret})


@transaction.atomic
def hook_endpoint_create(
    *,
    account_id: int,
    url: str,
    event_types: list[str],
    description: str = "",
    created_by: AbstractBaseUser | None = None,
) -> tuple[HookEndpoint, str]:
    """Register an endpoint; return it and its secret, which is never shown again."""
    hook_url_check(url)
    secret = hook_secret_new()
    endpoint = HookEndpoint.objects.create(
        account_id=account_id,
        url=url,
        description=description,
        event_types=sorted(set(event_types)),
        secret_encrypted=_secret_encrypted(secret),
        created_by=created_by,
    )
    audit_record(actor=created_by, obj=endpoint, message="Webhook endpoint created")
    return endpoint, secret


@transaction.atomic
def hook_endpoint_rotate_secret(*, endpoint_id: int, actor: AbstractBaseUser) -> str:
    """Give the endpoint a new secret; the old one also signs for a day. Return the new one."""
    endpoint = HookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    secret = hook_secret_new()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_until = timezone.now() + timedelta(
        days=PREVIOUS_SECRET_DAYS
    )
    endpoint.secret_encrypted = _secret_encrypted(secret)
    endpoint.save(
        update_fields=[
            "secret_encrypted",
            "previous_secret_encrypted",
            "previous_secret_until",
            "updated_at",
        ]
    )
    audit_record(actor=actor, obj=endpoint, message="Secret rotated")
    return secret


@transaction.atomic
def hook_endpoint_disable(*, endpoint_id: int, actor: AbstractBaseUser) -> None:
    """Stop sending to the endpoint and stop collecting events for it."""
    HookEndpoint.objects.filter(pk=endpoint_id).update(
        state=HookEndpoint.State.DISABLED,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    audit_record(
        actor=actor, obj=HookEndpoint.objects.get(pk=endpoint_id), message="Disabled"
    )


@transaction.atomic
def hook_endpoint_resume(*, endpoint_id: int, actor: AbstractBaseUser) -> None:
    """Send to a disabled or failing endpoint again, now, starting with what waits."""
    HookEndpoint.objects.filter(pk=endpoint_id).update(
        state=HookEndpoint.State.ACTIVE,
        failures=0,
        failing_since=None,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    endpoint = HookEndpoint.objects.get(pk=endpoint_id)
    audit_record(actor=actor, obj=endpoint, message="Resumed")
    hook_endpoint_nudge(endpoint_id)


@transaction.atomic
def hook_endpoint_test(*, endpoint_id: int, actor: AbstractBaseUser) -> None:
    """Queue a test event for the endpoint, after whatever already waits."""
    endpoint = HookEndpoint.objects.get(pk=endpoint_id)
    data = {"endpoint": str(endpoint.uuid), "by": str(actor)}
    hook_outbox_write(
        [(endpoint_id, timezone.now(), HookEvent.Type.TEST, None, "", None, data)]
    )
    audit_record(actor=actor, obj=endpoint, message="Test event sent")


@transaction.atomic
def hook_events_replay(
    *,
    endpoint_id: int,
    actor: AbstractBaseUser,
    since: datetime | None = None,
    delivery_id: int | None = None,
) -> int:
    """Send again the events of one delivery, or every event since a time; return how many.

    They wait again and go out in id order with anything still waiting, so
    receivers must expect an event id twice (README).
    """
    events = HookEvent.objects.filter(endpoint_id=endpoint_id, delivery__isnull=False)
    if delivery_id is not None:
        events = events.filter(delivery_id=delivery_id)
    if since is not None:
        events = events.filter(created_at__gte=since)
    n = events.update(delivery=None)
    endpoint = HookEndpoint.objects.get(pk=endpoint_id)
    message = ngettext("Replaying %d event", "Replaying %d events", n) % n
    audit_record(actor=actor, obj=endpoint, message=message)
    hook_endpoint_nudge(endpoint_id)
    return n
