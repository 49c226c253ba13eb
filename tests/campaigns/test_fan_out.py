"""Fan-out: every lead accounted for once, resumable, COPY on PostgreSQL."""

import psycopg
import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns import fan_out
from campaigns.fan_out import BodyRenderer, campaign_fan_out
from campaigns.models import Campaign, Lead
from messaging.models import Message, OptOut
from tests.factories import CampaignFactory, LeadFactory, LeadListFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def processing(account, sender):
    """A launched campaign to two lists, with a custom field that has a default."""
    campaign = CampaignFactory(
        account=account,
        sender=sender,
        body="Hi {first_name}, code {code}",
        field_defaults={"code": "WELCOME"},
        state=Campaign.State.PROCESSING,
    )
    lists = LeadListFactory.create_batch(2, account=account)
    campaign.lists.set(lists)
    return campaign, lists


def _add(lead_list, phone, **fields):
    lead = LeadFactory(account=lead_list.account, phone=phone, **fields)
    lead.lists.add(lead_list)
    return lead


@pytest.fixture
def every_kind(processing):
    """One lead of each kind the fan-out tells apart, by phone."""
    campaign, (first, second) = processing
    both = _add(first, "+12025550110", first_name="Ana", fields={"code": "A1"})
    both.lists.add(second)
    _add(second, "+12025550111", first_name="Bo")  # no code: the default
    _add(first, "+1555")  # not a number
    _add(first, "+12025550112")
    OptOut.objects.create(
        account=campaign.account, phone="+12025550112", source="keyword"
    )
    _add(first, "+12025550113", suppressed_at=timezone.now())
    _add(second, "+12025550114", deleted_at=timezone.now())
    return campaign


def _outcomes(campaign):
    return {
        m.phone: (m.status, m.error.code if m.error else None)
        for m in Message.objects.filter(campaign=campaign).select_related("error")
    }


EXPECTED = {
    "+12025550110": ("queued", None),
    "+12025550111": ("queued", None),
    "+1555": ("rejected", "invalid_number"),
    "+12025550112": ("rejected", "opted_out"),
    "+12025550113": ("rejected", "suppressed"),
}


@pytest.fixture
def copies(monkeypatch):
    """The COPY statements run through psycopg, whatever cursor class Django uses."""
    statements = []
    original = psycopg.Cursor.copy

    def spy(self, statement, *args, **kwargs):
        statements.append(str(statement))
        return original(self, statement, *args, **kwargs)

    monkeypatch.setattr(psycopg.Cursor, "copy", spy)
    return statements


def test_fan_out_on_postgresql_copies_once_and_accounts_for_every_lead(
    postgres, every_kind, copies
):
    # when the campaign fans out
    with CaptureQueriesContext(connection) as queries:
        queued = campaign_fan_out(campaign_id=every_kind.pk)

    # then the messages were written by COPY, not by INSERT
    assert len(copies) == 1 and copies[0].startswith('COPY "messaging_message"')
    assert not [q for q in queries if "INSERT" in q["sql"].upper()]
    # and every live lead has one message, the refused ones with their reason
    assert _outcomes(every_kind) == EXPECTED
    assert queued == 2
    bodies = set(Message.objects.filter(status="queued").values_list("body", flat=True))
    assert bodies == {"Hi Ana, code A1", "Hi Bo, code WELCOME"}

    # when it runs again, then it writes nothing
    before = set(Message.objects.values_list("uuid", flat=True))
    campaign_fan_out(campaign_id=every_kind.pk)
    assert len(copies) == 1
    assert set(Message.objects.values_list("uuid", flat=True)) == before


def test_fan_out_resumes_after_a_crash_without_repeating_a_lead(
    every_kind, monkeypatch
):
    # given a fan-out that dies on the invalid number, in the second batch of two
    monkeypatch.setattr(fan_out, "FANOUT_BATCH_SIZE", 2)
    checked = fan_out.phone_is_valid

    def crash_on_invalid(phone: str) -> bool:
        if phone == "+1555":
            raise RuntimeError("worker killed")
        return checked(phone)

    monkeypatch.setattr(fan_out, "phone_is_valid", crash_on_invalid)
    with pytest.raises(RuntimeError):
        campaign_fan_out(campaign_id=every_kind.pk)
    first_batch = set(Message.objects.values_list("uuid", flat=True))
    assert len(first_batch) == 2

    # when it runs again
    monkeypatch.setattr(fan_out, "phone_is_valid", checked)
    campaign_fan_out(campaign_id=every_kind.pk)

    # then it finished the rest and kept the first batch as it was
    assert _outcomes(every_kind) == EXPECTED
    assert first_batch < set(Message.objects.values_list("uuid", flat=True))


def test_fan_out_checks_only_numbers_not_checked_when_written(processing, monkeypatch):
    # given a lead whose number was checked when it was imported, one never
    # checked, and one whose number was changed behind the writers' back
    campaign, (first, _) = processing
    _add(first, "+12025550120", checked_phone="+12025550120")
    _add(first, "+12025550121")
    changed = _add(first, "+12025550122", checked_phone="+12025550122")
    Lead.objects.filter(pk=changed.pk).update(phone="+1555")
    checked, check = [], fan_out.phone_is_valid

    def phone_is_valid(phone: str) -> bool:
        checked.append(phone)
        return check(phone)

    monkeypatch.setattr(fan_out, "phone_is_valid", phone_is_valid)

    # when the campaign fans out
    campaign_fan_out(campaign_id=campaign.pk)

    # then only the unchecked and the changed numbers were checked, and the
    # changed one, now invalid, is refused
    assert sorted(checked) == ["+12025550121", "+1555"]
    assert _outcomes(campaign) == {
        "+12025550120": ("queued", None),
        "+12025550121": ("queued", None),
        "+1555": ("rejected", "invalid_number"),
    }


@pytest.mark.django_db(transaction=True)
def test_sending_starts_as_each_batch_commits(processing, monkeypatch):
    # given four leads, fanned out two at a time
    campaign, (first, _) = processing
    for n in range(4):
        _add(first, f"+1202555013{n}")
    monkeypatch.setattr(fan_out, "FANOUT_BATCH_SIZE", 2)
    read, sent_before_each_read = fan_out.leads_to_fan_out, []

    def leads_to_fan_out(campaign, *, after):
        # first attempts only: a temporary failure's retry is a message too
        fanned_out = Message.objects.filter(campaign=campaign, attempt=1)
        sent_before_each_read.append(fanned_out.exclude(status="queued").count())
        return read(campaign, after=after)

    monkeypatch.setattr(fan_out, "leads_to_fan_out", leads_to_fan_out)

    # when the campaign fans out (tasks run eagerly, at each commit)
    assert campaign_fan_out(campaign_id=campaign.pk) == 4

    # then each batch was sent before the next one was read
    assert sent_before_each_read == [0, 2, 4]


def test_fan_out_stops_at_the_batch_after_a_cancel(every_kind, monkeypatch):
    monkeypatch.setattr(fan_out, "FANOUT_BATCH_SIZE", 2)
    rows = fan_out.MessageRows.rows

    def cancel_during_the_first_batch(self, leads):
        Campaign.objects.filter(pk=every_kind.pk).update(state="canceled")
        return rows(self, leads)

    monkeypatch.setattr(fan_out.MessageRows, "rows", cancel_during_the_first_batch)
    assert campaign_fan_out(campaign_id=every_kind.pk) == 0
    assert Message.objects.filter(campaign=every_kind).count() == 2


@pytest.mark.parametrize("leads", [1, 20])
def test_fan_out_query_count_is_flat(processing, django_assert_num_queries, leads):
    campaign, (first, _) = processing
    for n in range(leads):
        _add(first, f"+1202555{n:04d}")
    # campaign, 3 error codes; a batch: savepoint, lock, leads, the write, release;
    # the empty last batch; campaign update, queued ids. The write is an INSERT
    # on SQLite; on PostgreSQL two settings and a COPY, not counted.
    write = 2 if connection.vendor == "postgresql" else 1
    with django_assert_num_queries(4 + 4 + write + 3 + 3):
        campaign_fan_out(campaign_id=campaign.pk)
    assert Message.objects.filter(campaign=campaign).count() == leads


@pytest.mark.parametrize(
    ("lead", "rendered"),
    [
        ({"first_name": "Ana", "custom": {"first_name": "X"}}, "Hi Ana, code C"),
        ({"first_name": "", "custom": {"first_name": "Bo"}}, "Hi Bo, code C"),
        ({"first_name": "", "custom": {}}, "Hi friend, code C"),
        ({"first_name": "Ana", "custom": {"code": ""}}, None),
        ({"first_name": "Ana", "custom": {"code": 7}}, "Hi Ana, code 7"),
    ],
)
def test_body_renderer_takes_the_lead_then_its_fields_then_the_defaults(lead, rendered):
    renderer = BodyRenderer("Hi {first_name}, code {code}", {"first_name": "friend"})
    custom = {"code": "C"} | lead["custom"]
    values = {"first_name": lead["first_name"], "last_name": "", "phone": "+1"}
    assert renderer.render(**values, custom=custom) == rendered
