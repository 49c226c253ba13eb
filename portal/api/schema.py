"""The API schema: every operation documents the one error shape and its statuses.

Its own module: drf-spectacular's AutoSchema imports DRF's views, which read
the authentication and throttle classes from the settings, so those modules
cannot import it.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from portal.api.errors import ErrorOutputSerializer
from portal.api.idempotency import IDEMPOTENCY_HEADER

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="Any unique string (at most 255 characters). A retry with the same "
    "key gets the first answer again and changes nothing; the same key with "
    "another request is 409 idempotency_key_reused.",
)

# What each error status means on this API; every operation documents them.
ERROR_RESPONSES = {
    "400": "Invalid input (code invalid, with fields) or a business rule said no.",
    "401": "No token, or a token that is not valid or was revoked.",
    "403": "A signed-in user who did not name one of their accounts in X-Account.",
    "404": "No such object in the token's account (or no such page).",
    "429": "Too many requests for this token; retry after the Retry-After seconds.",
}
CONFLICT_RESPONSE = (
    "The object's state does not allow it, or the Idempotency-Key was used for "
    "another request or is still running."
)


class PortalAutoSchema(AutoSchema):
    """The schema documents the one error shape, and the statuses it comes with."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        errors = dict(ERROR_RESPONSES)
        if self.method in ("POST", "PUT", "PATCH", "DELETE"):
            errors["409"] = CONFLICT_RESPONSE
        for code, description in errors.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorOutputSerializer, description=description),
                    code,
                    media_types=["application/json"],
                    direction=direction,
                )
        return responses


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "portal.api.auth.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Authorization: Bearer <key> (create with manage.py create_token).",
        }
