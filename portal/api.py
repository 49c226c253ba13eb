"""API plumbing shared by the apps: errors, pagination, throttling, idempotency, account scope."""

import functools
import hashlib
import json
import logging

from django.db import IntegrityError, transaction
from django.http import Http404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions, pagination, serializers, status, throttling
from rest_framework.response import Response
from rest_framework.views import exception_handler

from portal.api_auth import request_account
from portal.models import Account, ApiToken, IdempotencyKey
from portal.services import InsufficientCredit

logger = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "Idempotency-Key"


class DomainError(exceptions.APIException):
    """A business rule said no: 400 or 409 with a machine-readable code."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, *, code: str, status_code: int = 400, **extra):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.code = code
        self.extra = extra


def api_exception_handler(exc, context):
    """Render every error as {"code", "detail"} (plus "fields" for invalid input)."""
    if isinstance(exc, InsufficientCredit):
        exc = DomainError(
            "The account does not have enough credit.",
            code="insufficient_credit",
            status_code=409,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, DomainError):
        response.data = {"code": exc.code, "detail": str(exc.detail), **exc.extra}
    elif isinstance(exc, exceptions.ValidationError):
        response.data = {
            "code": "invalid",
            "detail": "The request has invalid fields.",
            "fields": exc.detail
            if isinstance(exc.detail, dict)
            else {"non_field_errors": exc.detail},
        }
    elif isinstance(exc, Http404):
        response.data = {"code": "not_found", "detail": "Not found."}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "code": codes if isinstance(codes, str) else "error",
            "detail": str(exc.detail),
        }
    return response


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class NewestFirstCursorPagination(pagination.CursorPagination):
    """Cursor paging by id: stable while new rows are inserted, no COUNT over big tables."""

    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API token (per user for sessions, per address otherwise)."""

    scope = "token"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiToken):
            ident = f"t{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"u{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AccountScopedMixin:
    """Views whose every queryset is filtered to the request's account."""

    @property
    def account(self) -> Account:
        account = request_account(self.request)
        if account is None:  # HasAccount already refused such requests
            raise exceptions.NotAuthenticated()
        return account


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


class ErrorOutputSerializer(serializers.Serializer):
    """Every error: a machine code, a sentence for people, and more keys for some codes."""

    code = serializers.CharField(
        help_text="Stable and machine-readable, e.g. opted_out."
    )
    detail = serializers.CharField(help_text="What went wrong, in words.")
    fields = serializers.DictField(
        required=False,
        help_text="With code invalid: the messages for each invalid field.",
    )


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api_auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer <key> (create with manage.py create_token).",
        }
