"""schemathesis against the live schema, in process, with a real token.

Positive cases (requests the schema allows) must get a documented status, content
type and body; negative cases (requests it forbids) must at least never get a 5xx.
Schema-valid requests may still be refused with 400 (a number that is not a
phone number, a list of another account): business rules are not in the schema,
so the "valid data accepted" check is not run. Examples are bounded so that both
tests together stay under a minute; a run with 40 examples per operation on
SQLite and PostgreSQL found nothing more.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.urls import reverse

from campaigns.imports import lead_import_create
from messaging.catalog import error_get
from messaging.models import MessageExport, OptOut
from messaging.statuses import Status
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.api_contract]

# Fuzzed examples per operation (about 45 operations, ~10 ms a request in process).
EXAMPLES = 5
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _existing_ids(account, sender) -> dict[str, int]:
    """One object of each kind in the token's account, by the path prefix that names it."""
    campaign = factories.CampaignFactory(account=account, sender=sender)
    message = factories.MessageFactory(
        campaign=campaign,
        status=Status.UNDELIVERED,
        error=error_get(provider="twilio", code="30003"),
    )
    return {
        "/api/v1/campaigns/": campaign.pk,
        "/api/v1/leads/imports/": lead_import_create(
            account_id=account.pk, source_path="missing.csv"
        ).pk,
        "/api/v1/leads/": message.lead_id,
        "/api/v1/lists/": factories.LeadListFactory(account=account).pk,
        "/api/v1/messages/": message.pk,
        "/api/v1/errors/": message.error_id,
        "/api/v1/opt-outs/": OptOut.objects.create(
            account=account, phone="+12025550111", source="api"
        ).pk,
        "/api/v1/exports/": MessageExport.objects.create(account=account).pk,
    }


def _schema(mode: GenerationMode, token_key: str, ids: dict[str, int]):
    # The WSGI handler closes "old" connections after each request, which would
    # close the test's transaction; Django's test client disconnects it likewise.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi(
        reverse("api:schema"), get_wsgi_application()
    )
    schema.config.update(headers={"Authorization": f"Bearer {token_key}"})
    schema.config.generation.update(modes=[mode])
    if mode == GenerationMode.NEGATIVE:
        # The coverage phase's boundary cases are not bounded by max_examples and
        # negate every parameter in turn; the positive test runs them, and
        # fuzzing is enough to look for server errors on invalid input.
        schema.config.phases.update(phases=["examples", "fuzzing"])

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Random ids are nearly always 404: also aim at objects that exist.
        prefix = next((p for p in ids if context.operation.path.startswith(p)), None)
        if prefix is None or "id" not in (path_parameters or {}):
            return st.just(path_parameters)
        return st.sampled_from(
            [path_parameters, {**path_parameters, "id": ids[prefix]}]
        )

    return schema


@pytest.fixture
def _api(token_key, account, sender, tmp_path, settings):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    yield _existing_ids(account, sender)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def positive_schema(_api, token_key):
    return _schema(GenerationMode.POSITIVE, token_key, _api)


@pytest.fixture
def negative_schema(_api, token_key):
    return _schema(GenerationMode.NEGATIVE, token_key, _api)


fuzz = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck)
)


@schemathesis.pytest.from_fixture("positive_schema").parametrize()
@fuzz
def test_valid_requests_get_documented_answers(case):
    case.call_and_validate(checks=CONFORMANCE)


def _nothing_to_negate(ctx) -> bool:
    raw = ctx.operation.definition.raw
    return not (raw.get("parameters") or raw.get("requestBody"))


@(
    schemathesis.pytest.from_fixture("negative_schema")
    .exclude(_nothing_to_negate)
    .parametrize()
)
@fuzz
def test_invalid_requests_never_get_a_server_error(case):
    case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
