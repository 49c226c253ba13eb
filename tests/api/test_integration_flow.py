"""The issue's "done when": an integration with only the API docs and a token.

Imports leads from a CSV, creates and launches a campaign, polls messages with
updated_after until the campaign is done, reads each failure's code and
explanation, and downloads the export. Celery runs eagerly and the simulator
is the provider; between polls the periodic sweep runs, as beat would run it.
"""

import csv
import io

import pytest

from campaigns.tasks import refresh_campaign_states_task

pytestmark = pytest.mark.django_db

# The simulator's reserved numbers force each outcome (messaging/providers/simulator.py).
LEADS_CSV = """Mobile,First name,Last name,Church
+1 500 555 0000,Ann,Lee,St Paul
+1 500 555 0001,Bob,Invalid,St Paul
+1 500 555 0002,Cy,Landline,North
+1 500 555 0003,Di,Spam,North
+1 500 555 0006,Ed,OptedOut,North
555-12,Bad,Row,
"""
MAX_POLLS = 10


@pytest.fixture(autouse=True)
def files(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"


def test_an_integration_runs_a_campaign_end_to_end(
    api, sender, django_capture_on_commit_callbacks
):
    # Import leads from a CSV; the bad row is reported, not lost.
    upload = io.BytesIO(LEADS_CSV.encode())
    upload.name = "leads.csv"
    response = api.post(
        "/api/v1/leads/import/", {"file": upload, "list": "Sunday"}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    imported = response.json()
    assert imported["rows_imported"] == 5 and imported["rows_failed"] == 1
    assert imported["errors"] == [
        {"row": 7, "value": "555-12", "reason": "invalid number"}
    ]

    # Create a campaign from the account's sender and the imported list.
    senders = api.get("/api/v1/senders/").json()["results"]
    assert [s["id"] for s in senders] == [sender.pk]
    response = api.post(
        "/api/v1/campaigns/",
        {
            "name": "Sunday service",
            "body": "Hi {first_name}, see you Sunday at 10. Reply STOP to opt out.",
            "sender": senders[0]["id"],
            "lists": [imported["list"]],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    campaign = response.json()
    preview = api.get(f"/api/v1/campaigns/{campaign['id']}/preview/").json()
    assert preview["problems"] == [] and preview["leads"] == 5

    # Launch it (safe to retry with the same Idempotency-Key).
    launch = f"/api/v1/campaigns/{campaign['id']}/launch/"
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(launch, {}, format="json", HTTP_IDEMPOTENCY_KEY="go-1")
    assert response.status_code == 202, response.json()
    retry = api.post(launch, {}, format="json", HTTP_IDEMPOTENCY_KEY="go-1")
    assert retry.status_code == 202 and retry["Idempotent-Replayed"] == "true"

    # Follow the change feed with its cursor until the campaign is done.
    seen: dict[int, dict] = {}
    feed = {"campaign": campaign["id"], "updated_after": "2000-01-01T00:00:00Z"}
    for _ in range(MAX_POLLS):
        refresh_campaign_states_task()  # beat's sweep
        page = api.get("/api/v1/messages/", feed).json()
        for message in page["results"]:
            seen[message["id"]] = message
        feed["cursor"] = page["cursor"] or feed.get("cursor", "")
        state = api.get(f"/api/v1/campaigns/{campaign['id']}/").json()["state"]
        if state == "done":
            break
    assert state == "done"
    assert len(seen) == 5 and all(m["final"] for m in seen.values())

    # Every failure explains itself: a code, a title, what it means, what to do.
    by_name = {m["lead_name"]: m for m in seen.values()}
    assert by_name["Ann Lee"]["status"] == "delivered"
    failures = [m for m in seen.values() if m["bucket"] == "error"]
    assert {m["error_code"] for m in failures} == {"21211", "30006", "30007", "21610"}
    for failure in failures:
        assert failure["error_title"] and failure["error_meaning"]
        assert failure["error_resolution"] and failure["number_advice"]
    stats = api.get(f"/api/v1/campaigns/{campaign['id']}/stats/").json()
    assert {e["code"] for e in stats["errors"]} == {"21211", "30006", "30007", "21610"}

    # Export the campaign's messages to a file and download it.
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/campaigns/{campaign['id']}/exports/")
    assert response.status_code == 202
    export = api.get(f"/api/v1/exports/{response.json()['id']}/").json()
    assert export["status"] == "done" and export["rows_done"] == 5
    download = api.get(export["download_url"])
    assert download.status_code == 200
    rows = list(
        csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode()))
    )
    assert {int(row["message_id"]) for row in rows} == set(seen)
    exported = {row["error_code"]: row for row in rows if row["bucket"] == "error"}
    for failure in failures:
        assert (
            exported[failure["error_code"]]["error_meaning"] == failure["error_meaning"]
        )
