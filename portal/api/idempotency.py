"""Idempotency-Key: a retried request gets the first answer and changes nothing more."""

import functools
import hashlib
import json
import logging

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from portal.api.auth import request_account
from portal.api.errors import DomainError, api_exception_handler
from portal.models import IdempotencyKey

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(
        f"{request.method} {request.path}\n{body}".encode()
    ).hexdigest()


def idempotent(endpoint: str):
    """Replay the stored answer when a request comes again with the same Idempotency-Key.

    The key is claimed in its own transaction before the work runs, so two
    retries at once cannot both act: the second gets 409 until the first ends.
    Answers of 5xx are not stored, so such a request may be retried, unless
    the work committed its answer (idempotent_answer_save) or the 5xx is a
    domain error: those are replayed.
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(view, request, *args, **kwargs):
            key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
            if not key:
                return method(view, request, *args, **kwargs)
            if len(key) > 255 or not (key.isascii() and key.isprintable()):
                raise DomainError(
                    "Idempotency-Key must be at most 255 printable ASCII characters.",
                    code="idempotency_key_invalid",
                )
            account = request_account(request)
            fingerprint = _fingerprint(request)
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(
                        account=account,
                        key=key,
                        endpoint=endpoint,
                        fingerprint=fingerprint,
                    )
            except IntegrityError:
                record = IdempotencyKey.objects.get(account=account, key=key)
                if record.endpoint != endpoint or record.fingerprint != fingerprint:
                    raise DomainError(
                        "This Idempotency-Key was used for a different request.",
                        code="idempotency_key_reused",
                        status_code=409,
                    ) from None
                if record.response_status is None:
                    raise DomainError(
                        "A request with this Idempotency-Key is still running.",
                        code="idempotency_in_progress",
                        status_code=409,
                    ) from None
                response = Response(record.response_body, status=record.response_status)
                response["Idempotent-Replayed"] = "true"
                return response
            request.idempotency_record = record
            try:
                response = method(view, request, *args, **kwargs)
            except Exception as exc:
                # Domain errors are answers too, even a 503 about work that
                # was recorded: a retry must get the same one.
                handled = api_exception_handler(exc, {"view": view, "request": request})
                if isinstance(exc, DomainError) or (
                    handled is not None and handled.status_code < 500
                ):
                    response = handled
                else:
                    answered = _forget_unless_answered(record)
                    if answered is None:
                        raise
                    logger.exception(
                        "portal.api.failed_after_commit", extra={"key_id": record.pk}
                    )
                    return answered
            else:
                if response.status_code >= 500:
                    return _forget_unless_answered(record) or response
            idempotent_answer_save(
                request, status_code=response.status_code, data=response.data
            )
            return response

        return wrapper

    return decorate


def idempotent_answer_save(request, *, status_code: int, data) -> None:
    """Store the answer to the request's Idempotency-Key, if it has one.

    A view calls it inside the transaction that does its work: if anything
    fails after that commit, a retry gets this answer instead of doing the
    work again.
    """
    record = getattr(request, "idempotency_record", None)
    if record is not None:
        record.response_status = status_code
        record.response_body = data
        record.save(update_fields=["response_status", "response_body"])


def _forget_unless_answered(record: IdempotencyKey) -> Response | None:
    """Free the key of a request that failed; the answer its work committed, if any."""
    deleted, _ = IdempotencyKey.objects.filter(
        pk=record.pk, response_status__isnull=True
    ).delete()
    if deleted:
        return None
    record.refresh_from_db()
    return Response(record.response_body, status=record.response_status)
