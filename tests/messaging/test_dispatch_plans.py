"""Dispatch and fan-out on PostgreSQL: a batch is found by id or lead, never by status."""

import json
from datetime import timedelta

import pytest

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.fan_out import campaign_fan_out
from campaigns.models import Campaign, Lead
from messaging.dispatch import messages_send
from messaging.models import Message
from messaging.statuses import Status
from tests.factories import CampaignFactory, LeadListFactory

pytestmark = pytest.mark.django_db

SETTLED = 20_000  # messages already final when statistics are taken
BATCH = 1_000


def _messages(campaign, count: int, status: str) -> list[int]:
    now = timezone.now()
    rows = Message.objects.bulk_create(
        Message(
            account_id=campaign.account_id,
            campaign=campaign,
            sender_id=campaign.sender_id,
            phone=f"+1212{2_000_000 + n}",
            body="Hello",
            status=status,
            expires_at=now + timedelta(hours=1),
            sent_at=now if status == Status.DELIVERED else None,
            final_at=now if status == Status.DELIVERED else None,
        )
        for n in range(count)
    )
    return [m.pk for m in rows]


def _scans(plan: dict) -> list[tuple[str, str]]:
    """Every (node type, index or table) in a JSON plan, depth first."""
    found = [(plan["Node Type"], plan.get("Index Name") or plan.get("Relation Name"))]
    for child in plan.get("Plans", []):
        found += _scans(child)
    return found


def test_a_claim_reads_its_batch_by_primary_key_even_when_statistics_say_none_queued(
    postgres, campaign, settings
):
    # given a table whose statistics were taken when almost nothing was queued
    settings.SIMULATOR_SEND_LOG = ""
    campaign.sender.throughput_per_second = 32_000
    campaign.sender.save()
    campaign.account.credit_balance = 10 * BATCH
    campaign.account.save()
    _messages(campaign, SETTLED, Status.DELIVERED)
    _messages(campaign, 10, Status.QUEUED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
    # and then a campaign filled the queue
    queued = _messages(campaign, 3 * BATCH, Status.QUEUED)
    # when one batch is sent
    with CaptureQueriesContext(connection) as ctx:
        sent = messages_send(message_ids=queued[:BATCH])
    # then every query of the batch that reads messages is planned on the
    # primary key alone, none on an index by status or provider id nor on the
    # whole table: those would read every queued (or sent) message
    assert sent == BATCH
    assert _message_scans(ctx.captured_queries) == {
        ("Index Scan", "messaging_message_pkey"),
        ("ModifyTable", "messaging_message"),
    }


def test_a_fan_out_batch_finds_its_queued_messages_by_lead_not_by_status(
    postgres, campaign
):
    # given statistics taken when almost nothing was queued, then a queue filled
    # by another campaign
    other = CampaignFactory(account=campaign.account, sender=campaign.sender)
    _messages(other, SETTLED, Status.DELIVERED)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_message")
    _messages(other, 3 * BATCH, Status.QUEUED)
    # and a campaign to a list of leads
    leads = LeadListFactory(account=campaign.account)
    campaign.lists.add(leads)
    added = Lead.objects.bulk_create(
        Lead(account=campaign.account, phone=f"+1212{3_000_000 + n}")
        for n in range(BATCH)
    )
    leads.leads.add(*added)
    Campaign.objects.filter(pk=campaign.pk).update(state="processing")
    # when it fans out
    with CaptureQueriesContext(connection) as ctx:
        assert campaign_fan_out(campaign_id=campaign.pk) == BATCH
    # then no query reads the queued messages' index or the whole table
    scans = _message_scans(ctx.captured_queries)
    assert scans
    assert not {
        (node, name)
        for node, name in scans
        if node == "Seq Scan" or name == "msg_queued_expires"
    }, scans


def _message_scans(captured_queries: list[dict]) -> set[tuple[str, str]]:
    """The scans of messaging_message in the plans of the captured SELECTs and UPDATEs."""
    scans = set()
    with connection.cursor() as cursor:
        for query in captured_queries:
            sql = query["sql"]
            if "messaging_message" not in sql or not sql.startswith(
                ("SELECT", "UPDATE")
            ):
                continue
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            scans |= {
                (node, name)
                for node, name in _scans(plan[0]["Plan"])
                if name
                and name.startswith(("messaging_message", "msg_"))
                and not name.startswith(
                    ("messaging_messageevent", "messaging_messagecount")
                )
            }
    return scans
