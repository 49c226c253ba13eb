"""Fixtures for outbound webhooks: an endpoint at a local receiver (pytest-httpserver)."""

import json
import re
from pathlib import Path

import pytest

from messaging.hooks.models import HookEvent
from messaging.hooks.services import hook_endpoint_create

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="session")
def verify():
    """The signature check from README.md, run as receivers would copy it."""
    text = README.read_text()
    section = text[text.index("## Outbound webhooks") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own README
    return namespace["verify"]


@pytest.fixture
def hook(account, httpserver):
    """An endpoint of the account taking every event; (endpoint, secret)."""
    return hook_endpoint_create(
        account_id=account.pk,
        url=httpserver.url_for("/hook"),
        event_types=[t for t in HookEvent.Type.values if t != HookEvent.Type.TEST],
    )


def received(httpserver) -> list[dict]:
    """Every event the receiver got, in the order it got them."""
    return [
        event for request, _ in httpserver.log for event in json.loads(request.data)
    ]
