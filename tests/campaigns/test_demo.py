"""The demo data `make run` shows, and headless campaign runs on the simulator."""

import json

import pytest

from django.apps import apps
from django.core.management import CommandError, call_command

from campaigns.management import demo_seed
from campaigns.models import Campaign
from campaigns.selectors import campaign_bucket_counts
from messaging.models import Message, MessageEvent
from messaging.statuses import Bucket

# Real commits: the tasks the demo runs in-process follow each other on commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fast_demo_sender(monkeypatch):
    """The demo number sends 50 a second; tests need not wait for its pace."""
    monkeypatch.setattr(demo_seed, "DEMO_THROUGHPUT", 30_000)


def _row_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("portal", "campaigns", "messaging")
    }


def test_seed_demo_shows_a_campaign_in_every_state_and_every_bucket(settings):
    # given a fresh database
    settings.DEBUG = True
    # when the demo is seeded
    call_command("seed_demo")
    # then every state and result has a campaign
    campaigns = {c.name: c for c in Campaign.objects.filter(account__slug="demo")}
    assert {(c.state, c.result) for c in campaigns.values()} == {
        ("draft", ""),
        ("processing", ""),
        ("in_progress", ""),
        ("done", "delivered"),
        ("done", "partial"),
        ("done", "failed"),
        ("canceled", ""),
    }
    counts = campaign_bucket_counts(campaign_ids=[c.pk for c in campaigns.values()])
    running = counts[campaigns["Sunday service reminder"].pk]
    for bucket in (Bucket.IN_QUEUE, Bucket.OUTBOX, Bucket.SENT, Bucket.ERROR):
        assert running[bucket] > 0, bucket
    assert running[Bucket.UNKNOWN] > 0
    assert counts[campaigns["Bake sale"].pk][Bucket.CANCELED] > 0
    assert counts[campaigns["Choir rehearsal moved"].pk][Bucket.DELETED_LEADS] == 2
    # and a lead's history is a timeline: claimed, sent, then its receipts
    delivered = Message.objects.filter(
        campaign=campaigns["Sunday service reminder"], status="delivered"
    ).first()
    kinds = list(
        MessageEvent.objects.filter(message=delivered)
        .order_by("pk")
        .values_list("kind", "status")
    )
    assert kinds[:2] == [("send", "sending"), ("send", "sent")]
    assert ("receipt", "delivered") in kinds


def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo")
    before = _row_counts()
    states = dict(Campaign.objects.values_list("name", "state"))
    call_command("seed_demo")
    assert _row_counts() == before
    assert dict(Campaign.objects.values_list("name", "state")) == states


def test_seed_demo_refuses_without_debug_unless_forced(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo")
    assert not Campaign.objects.exists()
    call_command("seed_demo", "--force")
    assert Campaign.objects.filter(account__slug="demo").count() == 7


def test_demo_runs_a_campaign_headless_and_accounts_for_every_message(capsys):
    # when a campaign of 120 leads runs on the simulator
    call_command("demo", "--leads", "120", "--seed", "7", "--json")
    # then every message is counted once, none sent twice, none lost
    report = json.loads(capsys.readouterr().out)
    assert sum(report["buckets"].values()) == 120
    assert report["buckets"]["In-queue"] == 0
    assert (report["duplicates_sent"], report["lost"]) == (0, 0)
    # and every error is explained by a title
    assert sum(report["errors"].values()) == report["buckets"]["Error"]
    assert report["charged"] > 0 and report["seconds"] > 0
    campaign = Campaign.objects.get(pk=report["campaign_id"])
    assert campaign.state in ("in_progress", "done")


def test_demo_prints_the_buckets_and_errors_in_words(capsys):
    call_command("demo", "--leads", "30")
    out = capsys.readouterr().out
    assert "30 leads" in out and "Outbox" in out and "Sent twice: 0. Lost: 0." in out
