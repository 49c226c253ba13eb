"""A Python client generated from /api/v1/schema/ runs a campaign against a live server.

openapi-python-client (a well-kept generator) writes the client into a
temporary folder; generation fails on any warning, so a schema change that
breaks generated clients fails the build. The client then does what an
integration does: a token, a lead import, a campaign created and launched,
the change feed polled until the campaign is done, the errors explained, the
export downloaded. Celery runs eagerly in the server's thread; between polls
this test runs beat's sweep.
"""

import csv
import importlib
import io
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from django.urls import reverse

from campaigns.tasks import refresh_campaign_states_task
from portal.api.auth import api_token_create
from tests import factories
from tests.api.test_integration_flow import LEADS_CSV

pytestmark = pytest.mark.django_db(transaction=True)

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
# The generated code is not formatted: the test imports it, nobody reads it.
CONFIG = "post_hooks: []\npackage_name_override: portal_client\n"
POLLS = 60
POLL_PAUSE_SECONDS = 0.2


@pytest.fixture
def portal_client(tmp_path, client, monkeypatch):
    """The generated client's package, imported from a temporary folder."""
    schema = tmp_path / "schema.yaml"
    schema.write_bytes(client.get(reverse("api:schema")).content)
    config = tmp_path / "config.yaml"
    config.write_text(CONFIG)
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(tmp_path / "portal_client"),
            "--meta",
            "none",
            "--config",
            str(config),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m.split(".")[0] == "portal_client"]:
        del sys.modules[name]
    return importlib.import_module("portal_client")


def _api(name: str):
    return importlib.import_module(f"portal_client.api.{name}")


def _models():
    return importlib.import_module("portal_client.models")


def test_a_generated_client_runs_a_campaign_end_to_end(
    portal_client, live_server, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    models = _models()
    types = importlib.import_module("portal_client.types")
    account = factories.AccountFactory()
    sender = factories.SenderFactory(account=account)
    _, key = api_token_create(account=account, name="integration")
    api = portal_client.AuthenticatedClient(
        base_url=live_server.url, token=key, raise_on_unexpected_status=True
    )

    # Import leads from a CSV; the bad row is reported, not lost.
    leads_import = _api("leads.leads_import_create")
    imported = leads_import.sync(
        client=api,
        body=models.LeadImportInputRequest(
            file=types.File(
                payload=io.BytesIO(LEADS_CSV.encode()), file_name="leads.csv"
            ),
            list_="Sunday",
        ),
    )
    assert (imported.rows_imported, imported.rows_failed) == (5, 1)

    # Create a campaign from the account's sender and the list, and launch it.
    senders = _api("senders.senders_list").sync(client=api)
    assert [s.id for s in senders.results] == [sender.pk]
    campaign = _api("campaigns.campaigns_create").sync(
        client=api,
        body=models.CampaignInputRequest(
            name="Sunday service",
            body="Hi {first_name}, see you Sunday at 10. Reply STOP to opt out.",
            sender=sender.pk,
            lists=[imported.list_],
        ),
    )
    launched = _api("campaigns.campaigns_launch_create").sync_detailed(
        campaign.id,
        client=api,
        body=models.CampaignLaunchInputRequest(),
        idempotency_key="go-1",
    )
    assert launched.status_code == 202

    # Follow the message feed with its cursor until the campaign is done.
    feed = _api("messages.messages_list")
    seen, cursor, state = {}, None, None
    for _ in range(POLLS):
        refresh_campaign_states_task()  # beat's sweep
        while True:
            page = feed.sync(
                client=api,
                campaign=campaign.id,
                updated_after=datetime(2000, 1, 1, tzinfo=UTC),
                cursor=cursor or types.UNSET,
            )
            seen |= {message.id: message for message in page.results}
            cursor = page.cursor or cursor
            if not page.next_:
                break
        state = _api("campaigns.campaigns_retrieve").sync(campaign.id, client=api)
        if state.state == "done" and all(m.final for m in seen.values()):
            break
        time.sleep(POLL_PAUSE_SECONDS)
    assert state.state == "done"
    assert len(seen) == 5 and all(m.final for m in seen.values())

    # Every failure explains itself, and the catalog says the same.
    failures = [m for m in seen.values() if m.bucket == "error"]
    assert {m.error_code for m in failures} == {"21211", "30006", "30007", "21610"}
    errors = _api("errors.errors_list")
    for failure in failures:
        assert failure.error_meaning and failure.error_resolution
        (entry,) = [
            e
            for e in errors.sync(client=api, q=failure.error_code).results
            if e.provider == "twilio"
        ]
        assert entry.meaning == failure.error_meaning

    # Export the campaign's messages to a file and download it.
    export = _api("campaigns.campaigns_exports_create").sync(campaign.id, client=api)
    for _ in range(POLLS):
        export = _api("exports.exports_retrieve").sync(export.id, client=api)
        if export.status == "done":
            break
        time.sleep(POLL_PAUSE_SECONDS)
    download = _api("exports.exports_download_retrieve").sync_detailed(
        export.id, client=api
    )
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert {int(row["message_id"]) for row in rows} == set(seen)
