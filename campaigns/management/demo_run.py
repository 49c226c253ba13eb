"""Whole campaigns run headless on the simulator: manage.py demo, bench/ and the tests.

Used by management commands, benchmarks and tests only; the web and the workers
never import it.
"""

import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Sum
from django.test.utils import override_settings

from campaigns.launch import campaign_launch
from campaigns.leads import lead_checked_phone
from campaigns.management.demo_seed import DEMO_FIRST_NAMES, tasks_in_process
from campaigns.models import Campaign, Lead, LeadList
from campaigns.selectors import (
    campaign_bucket_counts,
    campaign_error_counts,
    errors_by_title,
)
from messaging.models import Message, Sender
from messaging.providers.simulator import sends_recorded
from messaging.statuses import FINAL, Bucket, Status
from portal.models import Account, CreditEntry

# A headless run measures the pipeline, not a carrier's limit: the simulator takes
# anything, so its sender allows the most a PositiveSmallIntegerField holds.
RUN_THROUGHPUT = 32_000
RUN_BODY = "Hi {first_name}, see you Sunday! Reply STOP to opt out."
# The buckets a campaign's messages fall in (inbound texts and deleted leads are
# not messages of the campaign): they add up to the campaign's messages.
MESSAGE_BUCKETS = [
    Bucket.IN_QUEUE,
    Bucket.OUTBOX,
    Bucket.SENT,
    Bucket.ERROR,
    Bucket.UNKNOWN,
    Bucket.CANCELED,
]


@dataclass(frozen=True)
class DemoReport:
    """What became of a headless campaign: the numbers `manage.py demo` prints."""

    campaign_id: int
    leads: int
    buckets: dict[str, int]
    errors: dict[str, int]
    charged: int
    seconds: float
    duplicates_sent: int
    lost: int

    def as_dict(self) -> dict:
        return asdict(self)


@transaction.atomic
def demo_campaign_create(*, leads: int, throughput: int = RUN_THROUGHPUT) -> Campaign:
    """A throwaway account with a simulated sender, `leads` leads in a list and a draft.

    The account has no members, so no one's dashboard shows it; its credit
    covers every lead twice over (the opt-out confirmations are charged too).
    """
    stamp = uuid.uuid4().hex[:12]
    account = Account.objects.create(
        name=f"Headless run {stamp}",
        slug=f"run-{stamp}",
        credit_balance=2 * leads + 100,
    )
    sender = Sender.objects.create(
        account=account,
        provider="simulator",
        phone_number="+15550100001",
        name="Simulated number",
        throughput_per_second=throughput,
    )
    lead_list = LeadList.objects.create(account=account, name="Everyone")
    # +1 212 200-0000 onwards: valid New York numbers, none of them magic.
    phones = (f"+1212{2_000_000 + n}" for n in range(leads))
    created = Lead.objects.bulk_create(
        Lead(
            account=account,
            phone=phone,
            checked_phone=lead_checked_phone(phone),  # as an import writes them
            first_name=DEMO_FIRST_NAMES[n % len(DEMO_FIRST_NAMES)],
            last_name=f"Lead {n}",
        )
        for n, phone in enumerate(phones)
    )
    Lead.lists.through.objects.bulk_create(
        Lead.lists.through(lead_id=lead.pk, leadlist_id=lead_list.pk)
        for lead in created
    )
    campaign = Campaign.objects.create(
        account=account, name=f"Headless run of {leads}", sender=sender, body=RUN_BODY
    )
    campaign.lists.add(lead_list)
    return campaign


def demo_campaign_run(*, leads: int, seed: int = 0) -> DemoReport:
    """Run a campaign of `leads` leads on the simulator through the real tasks, headless.

    The tasks run eagerly and the simulator answers at once, so when the launch
    returns every message has been sent and its receipts applied: each is final
    or in the outbox (a receipt that never comes), else the report counts it lost.
    """
    from campaigns.tasks import refresh_campaign_states_task

    with tempfile.TemporaryDirectory() as scratch:
        send_log = Path(scratch) / "sends.log"
        simulator = override_settings(
            SIMULATOR_RECEIPT_DELAY=0,
            SIMULATOR_SEED=seed,
            SIMULATOR_SEND_LOG=str(send_log),
        )
        with tasks_in_process(), simulator:
            campaign = demo_campaign_create(leads=leads)
            started = time.monotonic()
            campaign_launch(campaign_id=campaign.pk, launched_by=None)
            refresh_campaign_states_task.delay()
            seconds = time.monotonic() - started
        return demo_report(campaign_id=campaign.pk, send_log=send_log, seconds=seconds)


def demo_report(*, campaign_id: int, send_log: Path, seconds: float) -> DemoReport:
    """Count a campaign's outcome; duplicates come from the simulator's own send log."""
    campaign = Campaign.objects.get(pk=campaign_id)
    counts = campaign_bucket_counts(campaign_ids=[campaign_id])[campaign_id]
    errors = errors_by_title(
        campaign_error_counts(campaign_ids=[campaign_id]).get(campaign_id, [])
    )
    charged = CreditEntry.objects.filter(
        account_id=campaign.account_id,
        reason__in=[CreditEntry.Reason.CHARGE, CreditEntry.Reason.REFUND],
    ).aggregate(spent=Sum("delta"))["spent"]
    messages = Message.objects.filter(campaign_id=campaign_id, superseded=False)
    uuids = {str(u) for u in messages.values_list("uuid", flat=True)}
    sends = sends_recorded(send_log)
    return DemoReport(
        campaign_id=campaign_id,
        leads=Lead.objects.filter(lists__campaigns=campaign_id).count(),
        buckets={bucket.label: counts[bucket] for bucket in MESSAGE_BUCKETS},
        errors={error["title"]: error["count"] for error in errors},
        charged=-(charged or 0),
        seconds=round(seconds, 2),
        duplicates_sent=sum(1 for u, n in sends.items() if u in uuids and n > 1),
        lost=messages.exclude(status__in=FINAL | {Status.SENT}).count(),
    )
