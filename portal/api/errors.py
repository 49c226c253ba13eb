"""The API's one error shape: {"code", "detail"}, and "fields" for invalid input."""

from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.views import exception_handler

from portal.services import InsufficientCredit


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
        fields = (
            exc.detail
            if isinstance(exc.detail, dict)
            else {"non_field_errors": exc.detail}
        )
        response.data = {
            "code": "invalid",
            "detail": "Invalid " + "; ".join(_first_messages(fields)),
            "fields": fields,
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


def _first_messages(fields: dict) -> list[str]:
    """One message per invalid field, for the sentence in "detail"."""
    messages = []
    for name, errors in fields.items():
        while isinstance(errors, (list, dict)) and errors:
            errors = (
                errors[0] if isinstance(errors, list) else next(iter(errors.values()))
            )
        messages.append(f"{name}: {errors}" if errors else str(name))
    return messages


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
