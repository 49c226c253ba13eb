"""The inbox: leads whose last text is theirs, newest first, account-scoped."""

from datetime import timedelta

import pytest

from django.utils import timezone

from campaigns.leads import lead_delete
from campaigns.replies import inbox_list, reply_sender_default
from messaging.models import Message, OptOut
from messaging.statuses import Status
from tests import factories

pytestmark = pytest.mark.django_db


def text_from(
    lead, *, minutes_ago: int = 0, body: str = "Is it still on?", sender=None
):
    """An inbound text from the lead, received minutes_ago."""
    return Message.objects.create(
        account=lead.account,
        sender=sender,
        lead=lead,
        phone=lead.phone,
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        final_at=timezone.now(),
        body=body,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def sent_to(lead, *, minutes_ago: int = 0, sender=None):
    """An outbound one-off message to the lead, created minutes_ago."""
    return Message.objects.create(
        account=lead.account,
        sender=sender,
        lead=lead,
        phone=lead.phone,
        body="Yes, see you Sunday.",
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _inbox(account) -> list[tuple[int, str]]:
    return [(m.inbox_lead_id, m.body) for m in inbox_list(account_ids=[account.pk])]


def test_inbox_lists_a_lead_whose_text_came_after_what_was_sent(account):
    lead = factories.LeadFactory(account=account)
    sent_to(lead, minutes_ago=10)
    text_from(lead, minutes_ago=5)
    assert _inbox(account) == [(lead.pk, "Is it still on?")]


def test_inbox_leaves_out_a_lead_answered_since(account):
    lead = factories.LeadFactory(account=account)
    text_from(lead, minutes_ago=10)
    sent_to(lead, minutes_ago=5)
    assert _inbox(account) == []


def test_inbox_shows_each_lead_once_with_its_latest_text_newest_first(account):
    older, newer = factories.LeadFactory.create_batch(2, account=account)
    text_from(older, minutes_ago=30, body="first")
    text_from(older, minutes_ago=20, body="second")
    text_from(newer, minutes_ago=1, body="hello")
    assert _inbox(account) == [(newer.pk, "hello"), (older.pk, "second")]


def test_inbox_leaves_out_opted_out_deleted_unknown_and_other_accounts(account):
    opted_out, deleted = factories.LeadFactory.create_batch(2, account=account)
    text_from(opted_out)
    OptOut.objects.create(account=account, phone=opted_out.phone, source="keyword")
    text_from(deleted)
    lead_delete(lead=deleted)
    Message.objects.create(  # a number that is no lead of the account
        account=account,
        phone="+12025550999",
        direction=Message.Direction.INBOUND,
        status=Status.RECEIVED,
        final_at=timezone.now(),
        body="who is this?",
    )
    text_from(factories.LeadFactory())  # another account's lead
    assert _inbox(account) == []


def test_reply_goes_from_the_sender_the_lead_texted(account):
    first, texted = factories.SenderFactory.create_batch(2, account=account)
    lead = factories.LeadFactory(account=account)
    assert reply_sender_default(lead=lead, senders=[first, texted]) == first
    text_from(lead, sender=texted)
    assert reply_sender_default(lead=lead, senders=[first, texted]) == texted


def test_inbox_reads_the_received_texts_by_their_index(account, postgres):
    from django.db import connection

    lead = factories.LeadFactory(account=account)
    text_from(lead)
    query = inbox_list(account_ids=[account.pk])[:50]
    with connection.cursor() as cursor:
        # A tiny table is cheaper to scan: ask which index the plan would use.
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "msg_inbound_account_created" in plan, plan
    assert "msg_account_phone" in plan, plan
