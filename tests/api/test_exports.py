"""Exports to a file by a worker: start, progress, download, failures with their reason."""

import csv
import io
from datetime import UTC, timedelta

import pytest

from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging import export_jobs, exports
from messaging.catalog import error_get
from messaging.export_jobs import message_export_run, message_exports_fail_stalled
from messaging.exports import COLUMNS, message_export_csv
from messaging.models import Message, MessageExport
from messaging.statuses import Status
from portal.api.auth import api_token_create
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _rows(content: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(content.decode())))


def _download(api, export_id: int) -> list[dict]:
    response = api.get(reverse("api:export-download", args=[export_id]))
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/csv")
    return _rows(b"".join(response.streaming_content))


def test_campaign_export_runs_in_a_worker_and_is_downloaded(
    api, campaign, django_capture_on_commit_callbacks
):
    # given
    error = error_get(provider="twilio", code="30003")
    failed = factories.MessageFactory(
        campaign=campaign, status=Status.UNDELIVERED, error=error
    )
    factories.MessageFactory.create_batch(2, campaign=campaign, status=Status.DELIVERED)
    factories.MessageFactory(status=Status.DELIVERED)  # another campaign
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(reverse("api:campaign-export-create", args=[campaign.pk]))
    # then
    assert response.status_code == 202
    assert response.json()["filters"] == {"campaign": [str(campaign.pk)]}
    export = api.get(reverse("api:export-detail", args=[response.json()["id"]])).json()
    assert export["status"] == "done"
    assert export["rows_done"] == export["rows_total"] == 3
    assert export["download_url"].endswith(
        reverse("api:export-download", args=[export["id"]])
    )
    rows = _download(api, export["id"])
    assert list(rows[0]) == COLUMNS
    first = rows[0]
    assert int(first["message_id"]) == failed.pk
    assert first["error_code"] == "30003"
    assert first["error_meaning"] == error.meaning
    assert first["bucket"] == "error"
    assert first["billable"] == ("yes" if error.billable else "no")
    assert first["queued_at"].endswith("+00:00") and "T" in first["queued_at"]
    assert {row["status"] for row in rows[1:]} == {"delivered"}
    assert all(row["delivered_at"] == row["final_at"] != "" for row in rows[1:])


def test_export_with_message_filters(api, campaign, django_capture_on_commit_callbacks):
    factories.MessageFactory(campaign=campaign, status=Status.DELIVERED)
    queued = factories.MessageFactory(campaign=campaign)
    url = reverse("api:message-export-create")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{url}?bucket=in_queue&page=2&nonsense=1")
    assert response.json()["filters"] == {"bucket": ["in_queue"]}
    rows = _download(api, response.json()["id"])
    assert [int(row["message_id"]) for row in rows] == [queued.pk]


def test_export_with_invalid_filters_is_400_and_starts_nothing(api):
    response = api.post(reverse("api:message-export-create") + "?bucket=nope&lead=x")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == {"bucket", "lead"}
    assert not MessageExport.objects.exists()


def test_download_before_done_is_409(api, account):
    export = MessageExport.objects.create(account=account)
    response = api.get(reverse("api:export-download", args=[export.pk]))
    assert response.status_code == 409
    assert response.json()["code"] == "export_not_ready"


def test_other_accounts_export_is_404(api, other_account):
    export = MessageExport.objects.create(account=other_account)
    assert api.get(reverse("api:export-detail", args=[export.pk])).status_code == 404
    response = api.get(reverse("api:export-download", args=[export.pk]))
    assert response.status_code == 404


def test_a_failed_export_shows_its_reason_and_leaves_no_file(
    api, account, campaign, media, monkeypatch
):
    # given a disk that fills up while the file is written
    factories.MessageFactory.create_batch(3, campaign=campaign)
    export = MessageExport.objects.create(
        account=account, filters={"campaign": [str(campaign.pk)]}
    )

    def disk_full(queryset, handle, *, progress=None):
        handle.write(b"message_id\n")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export_jobs, "message_export_write", disk_full)
    # when
    message_export_run(export_id=export.pk)
    # then
    data = api.get(reverse("api:export-detail", args=[export.pk])).json()
    assert data["status"] == "failed"
    assert "No space left on device" in data["failure_reason"]
    assert data["download_url"] is None
    assert list(media.glob("exports/*")) == []


def test_an_unexpected_error_is_recorded_too(account, monkeypatch):
    export = MessageExport.objects.create(account=account)

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(export_jobs, "message_list_filtered", broken)
    export = message_export_run(export_id=export.pk)
    assert export.status == MessageExport.Status.FAILED
    assert "RuntimeError: boom" in export.failure_reason


def test_an_export_runs_once(account, campaign):
    factories.MessageFactory(campaign=campaign)
    export = MessageExport.objects.create(account=account)
    first = message_export_run(export_id=export.pk)
    again = message_export_run(export_id=export.pk)
    assert first.status == again.status == MessageExport.Status.DONE
    assert again.file.name == first.file.name and again.rows_done == 1


def test_stalled_exports_fail_with_a_reason(account):
    now = timezone.now()
    stalled = MessageExport.objects.create(account=account)
    MessageExport.objects.filter(pk=stalled.pk).update(
        status=MessageExport.Status.RUNNING, updated_at=now - timedelta(hours=1)
    )
    live = MessageExport.objects.create(account=account)
    assert message_exports_fail_stalled(now=now) == 1
    stalled.refresh_from_db()
    assert stalled.status == MessageExport.Status.FAILED
    assert "Start it again" in stalled.failure_reason
    live.refresh_from_db()
    assert live.status == MessageExport.Status.PENDING


def test_export_reads_in_chunks_on_the_primary_key(
    campaign, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(exports, "EXPORT_CHUNK_SIZE", 2)
    messages = factories.MessageFactory.create_batch(5, campaign=campaign)
    rows = Message.objects.filter(campaign=campaign)
    with django_assert_num_queries(3):  # chunks of at most two rows
        content = b"".join(message_export_csv(rows))
    assert [int(row["message_id"]) for row in _rows(content)] == [
        m.pk for m in messages
    ]


@pytest.mark.parametrize("n_exports", [1, 50])
def test_export_list_query_count_is_flat(n_exports, django_assert_num_queries):
    account = factories.AccountFactory()
    _, key = api_token_create(account=account)
    MessageExport.objects.bulk_create(
        MessageExport(account=account) for _ in range(n_exports)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    # token, last_used_at, count, page
    with django_assert_num_queries(4):
        response = client.get(reverse("api:export-list"))
    assert response.json()["count"] == n_exports


def test_columns_are_written_alike_on_every_database(campaign):
    # given one message with every kind of value, and one with the empty ones
    error = error_get(provider="twilio", code="30003")
    failed = factories.MessageFactory(
        campaign=campaign,
        status=Status.UNDELIVERED,
        error=error,
        body='Hi, "Ann"\nsee you',
        billed=True,
    )
    inbound = Message.objects.create(
        account=campaign.account,
        phone="+12025550100",
        body="STOP",
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        final_at=timezone.now(),
    )
    failed.refresh_from_db()
    # when
    content = b"".join(message_export_csv(Message.objects.order_by("pk")))
    # then
    first, second = _rows(content)
    assert first["body"] == 'Hi, "Ann"\nsee you'
    assert first["lead_name"] == failed.lead.name
    assert first["error_title"] == error.title
    assert first["billable"] == ("yes" if error.billable else "no")
    assert first["delivered_at"] == ""
    expected = failed.final_at.astimezone(UTC)
    assert first["final_at"] == expected.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    assert int(second["message_id"]) == inbound.pk
    assert second["campaign_id"] == second["campaign"] == second["lead_name"] == ""
    assert second["bucket"] == "received" and second["billable"] == "no"
    assert second["sent_at"] == "" and second["error_code"] == ""
    # no quoted empty fields: "" and NULL are written the same way
    assert ',"",' not in content.decode()


def test_an_export_whose_task_was_lost_is_published_again_then_failed_in_words(
    account, monkeypatch, django_capture_on_commit_callbacks
):
    from messaging import tasks

    now = timezone.now()
    lost = MessageExport.objects.create(account=account)
    abandoned = MessageExport.objects.create(account=account)
    MessageExport.objects.filter(pk=lost.pk).update(
        created_at=now - timedelta(minutes=5), updated_at=now - timedelta(minutes=5)
    )
    MessageExport.objects.filter(pk=abandoned.pk).update(
        created_at=now - timedelta(hours=1), updated_at=now - timedelta(hours=1)
    )
    published = []
    monkeypatch.setattr(
        tasks.export_messages_task,
        "apply_async",
        lambda args, **kw: published.append(args),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert message_exports_fail_stalled(now=now) == 1
    assert published == [[lost.pk]]
    abandoned.refresh_from_db()
    assert abandoned.status == MessageExport.Status.FAILED
    assert "never started" in abandoned.failure_reason
