"""The demo account `make run` shows (manage.py seed_demo): a campaign in every state.

Used by management commands and tests only; the web and the workers never import it.
"""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import Celery

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.test.utils import override_settings

from campaigns.fan_out import campaign_fan_out
from campaigns.launch import campaign_launch
from campaigns.leads import lead_checked_phone, lead_delete
from campaigns.models import Campaign, Lead, LeadList
from campaigns.services import (
    campaign_cancel,
    campaign_create,
    campaigns_close,
    campaigns_mark_in_progress,
)
from messaging.catalog import portal_error
from messaging.dispatch import messages_send
from messaging.models import Message, MessageEvent, Sender
from messaging.providers.simulator import MAGIC_NUMBERS
from messaging.services import StatusUpdate, messages_apply_statuses
from messaging.statuses import Status
from portal.models import Account, Membership

Build = Callable[[Campaign, AbstractBaseUser], None]  # takes a demo campaign on

DEMO_LEADS = 200
DEMO_FIRST_NAMES = ["Ana", "Ben", "Chloe", "David", "Esther", "Felix", "Grace", "Hugo"]
DEMO_BODY = "Hi {first_name}, a word from Demo Church: see you on Sunday! Reply STOP to opt out."
DEMO_THROUGHPUT = 50  # messages per second: a toll-free number's pace
UNREAD_BROKER = "memory://localhost/"  # with a host: kombu warns about URLs without one


def demo_seed() -> Account:
    """Create the demo account with a campaign in every state; a second run changes nothing.

    Campaigns are built through the launch, dispatch, receipt and cancel
    services with the simulator, so their messages have real histories. Each
    is built once, found again by its name. Not atomic as a whole: the tasks
    it runs in this process need their transactions committed.
    """
    account, user, sender = _demo_account()
    lists = _demo_lists(account)
    for name, targets, build in DEMO_CAMPAIGNS:
        if not Campaign.objects.filter(account=account, name=name).exists():
            build(
                campaign_create(
                    account_id=account.pk,
                    name=name,
                    sender=sender,
                    body=DEMO_BODY,
                    lists=[lists[target] for target in targets],
                ),
                user,
            )
    campaigns_mark_in_progress()
    campaigns_close()
    return account


@transaction.atomic
def _demo_account() -> tuple[Account, AbstractBaseUser, Sender]:
    account, _ = Account.objects.get_or_create(
        slug="demo", defaults={"name": "Demo Church", "credit_balance": 100_000}
    )
    user, created = get_user_model().objects.get_or_create(
        username="demo", defaults={"is_staff": True, "is_superuser": True}
    )
    if created:
        user.set_password("demo")
        user.save(update_fields=["password"])
    Membership.objects.get_or_create(
        user=user, account=account, defaults={"role": Membership.Role.OWNER}
    )
    sender, _ = Sender.objects.get_or_create(
        account=account,
        provider="simulator",
        phone_number="+15550100001",
        defaults={
            "name": "Demo number (simulated)",
            "throughput_per_second": DEMO_THROUGHPUT,
        },
    )
    return account, user, sender


def _people(exchange: str, label: str, count: int) -> list[tuple[str, str, str]]:
    """`count` Washington numbers of one exchange, with a first name and a label."""
    return [
        (
            f"+1202{exchange}{n:04d}",
            DEMO_FIRST_NAMES[n % len(DEMO_FIRST_NAMES)],
            f"{label} {n}",
        )
        for n in range(count)
    ]


@transaction.atomic
def _demo_lists(account: Account) -> dict[str, LeadList]:
    """The lists the campaigns target, with their leads; the deleted ones stay deleted."""
    people = {
        "Members": _people("555", "Member", DEMO_LEADS),
        "Choir": _people("556", "Singer", 12),
        # One certain delivery and one certain error: "Partially received".
        "Youth group": _people("557", "Youth", 30)
        + [("+15005550000", "Test", "Delivered"), ("+15005550003", "Test", "Spam")],
        "Old contacts": _people("558", "Old contact", 15),
        # The simulator's test numbers: each forces one outcome (simulator.py).
        "Test numbers": [
            (phone, "Test", outcome.replace("_", " "))
            for phone, outcome in MAGIC_NUMBERS.items()
        ],
    }
    Lead.objects.bulk_create(
        [
            Lead(
                account=account,
                phone=phone,
                checked_phone=lead_checked_phone(phone),
                first_name=first,
                last_name=last,
            )
            for members in people.values()
            for phone, first, last in members
        ],
        ignore_conflicts=True,
    )
    ids = dict(Lead.objects.filter(account=account).values_list("phone", "pk"))
    lists = {}
    for name, members in people.items():
        lists[name], _ = LeadList.objects.get_or_create(account=account, name=name)
        lists[name].leads.add(*(ids[phone] for phone, _, _ in members))
    return lists


@contextmanager
def _tasks_left_queued() -> Iterator[None]:
    """Publish tasks to an in-memory broker no worker reads, as if lost in a restart.

    Their messages stay queued (or sent, for lost receipts) until a running
    worker's requeue sweep picks them up, as it would after a broker crash.
    """
    from portal.celery import app

    with Celery("demo-unread", broker=UNREAD_BROKER, set_as_current=True):
        try:
            yield
        finally:
            app.set_current()


@contextmanager
def tasks_in_process() -> Iterator[None]:
    """Run Celery tasks eagerly, in this process, for the duration: no broker, no worker."""
    from portal.celery import app

    saved = {
        key: app.conf[key] for key in ("task_always_eager", "task_eager_propagates")
    }
    # Each task run eagerly logs its success at INFO: a run would print thousands.
    trace = logging.getLogger("celery.app.trace")
    level = trace.level
    app.conf.update(task_always_eager=True, task_eager_propagates=True)
    trace.setLevel(logging.WARNING)
    try:
        yield
    finally:
        app.conf.update(saved)
        trace.setLevel(level)


def _send(campaign: Campaign, *, receipts: bool, count: int | None = None) -> None:
    """Send `count` of the campaign's queued messages (all by default), newest first.

    Newest first: the test numbers, added last, go out in the first batch.
    Without receipts the simulator's callbacks are lost: the messages stay
    in the outbox, awaiting a response from the destination carrier.
    """
    ids = list(
        Message.objects.filter(campaign=campaign, status=Status.QUEUED)
        .order_by("-pk")
        .values_list("pk", flat=True)[:count]
    )
    tasks = tasks_in_process() if receipts else _tasks_left_queued()
    with tasks, override_settings(SIMULATOR_RECEIPT_DELAY=0):
        messages_send(message_ids=ids)


def _launch(campaign: Campaign, user: AbstractBaseUser) -> None:
    """Launch and fan out; the send tasks are lost, so every message stays queued."""
    with _tasks_left_queued():
        campaign_launch(campaign_id=campaign.pk, launched_by=user)
        campaign_fan_out(campaign_id=campaign.pk)


def _done_with(mix: dict[str, int]) -> Build:
    """A campaign sent in full, every outcome drawn from the mix (no silent ones)."""

    def build(campaign: Campaign, user: AbstractBaseUser) -> None:
        _launch(campaign, user)
        with override_settings(SIMULATOR_MIX=mix):
            _send(campaign, receipts=True)

    return build


def _deleted_then_done(campaign: Campaign, user: AbstractBaseUser) -> None:
    """One lead deleted before the launch (not texted, not counted), two after it."""
    first, *after = campaign.lists.get().leads.order_by("pk")[:3]
    lead_delete(lead=first)
    _done_with({"delivered": 100})(campaign, user)
    for lead in after:  # the widget's Deleted leads: 2
        lead_delete(lead=lead)


def _canceled(campaign: Campaign, user: AbstractBaseUser) -> None:
    _launch(campaign, user)
    _send(campaign, receipts=True, count=8)
    campaign_cancel(campaign_id=campaign.pk, actor=user)


def _in_progress(campaign: Campaign, user: AbstractBaseUser) -> None:
    """Some messages settled, some awaiting receipts, some silent too long, some queued."""
    _launch(campaign, user)
    _send(campaign, receipts=True, count=130)
    silent = Message.objects.filter(campaign=campaign, status=Status.SENT)
    no_receipt = StatusUpdate(
        status=Status.UNKNOWN,
        kind=MessageEvent.Kind.SWEEP,
        error=portal_error("no_receipt"),
    )
    # What the mark-unknown sweep does once the receipt wait has passed.
    messages_apply_statuses(
        updates=[(pk, no_receipt) for pk in silent.values_list("pk", flat=True)]
    )
    _send(campaign, receipts=False, count=40)


def _processing(campaign: Campaign, user: AbstractBaseUser) -> None:
    _launch(campaign, user)


def _draft(campaign: Campaign, user: AbstractBaseUser) -> None:
    """Nothing to do: a draft waits for its launch."""


# Name, target lists, how far it goes. Oldest first: the widget lists the newest
# first. Done campaigns draw from mixes without silent outcomes, so that all
# their messages end final.
DEMO_CAMPAIGNS: list[tuple[str, list[str], Build]] = [
    ("Choir rehearsal moved", ["Choir"], _deleted_then_done),
    (
        "Christmas concert",
        ["Youth group"],
        _done_with({"delivered": 85, "landline": 5, "spam": 5, "unreachable": 5}),
    ),
    (
        "Old contacts check",
        ["Old contacts"],
        _done_with(
            {"landline": 40, "spam": 20, "unreachable": 20, "unknown_error": 20}
        ),
    ),
    ("Bake sale", ["Youth group"], _canceled),
    ("Sunday service reminder", ["Members", "Test numbers"], _in_progress),
    ("Easter egg hunt", ["Youth group"], _processing),
    ("Harvest festival invitation", ["Members"], _draft),
]
