"""The launch check every screen shows, the composer's check of unsaved text, test sends."""

import pytest

from django.contrib.admin.models import LogEntry
from django.utils import timezone

from campaigns.composer import campaign_compose_check, campaign_test_send
from campaigns.launch import campaign_launch, campaign_preview, content_warnings
from campaigns.models import Campaign
from campaigns.services import campaign_duplicate, campaign_suppress_permanent
from messaging.models import ErrorCode, Message, OptOut
from messaging.outbound import SendRefused
from messaging.statuses import Status
from tests import factories

pytestmark = pytest.mark.django_db

OK = "Hi {first_name}! Reply STOP to opt out."


@pytest.fixture
def lists(account):
    """One lead of each fate: texted, opted out, suppressed, invalid number, deleted."""
    members = factories.LeadListFactory(account=account)
    make = factories.LeadFactory
    leads = [
        make(account=account, first_name="Ana", last_name="Lee"),
        make(account=account, first_name="Ben", last_name="Out"),
        make(account=account, first_name="Cy", suppressed_at=timezone.now()),
        make(account=account, first_name="", last_name="", phone="+1555"),
        make(account=account, first_name="Dee", deleted_at=timezone.now()),
    ]
    members.leads.add(*leads)
    OptOut.objects.create(account=account, phone=leads[1].phone, source="keyword")
    return [members]


def test_launch_check_counts_and_names_every_lead_not_texted(account, sender, lists):
    campaign = factories.CampaignFactory(account=account, sender=sender, body=OK)
    campaign.lists.set(lists)
    preview = campaign_preview(campaign_id=campaign.pk)
    assert (preview.leads_in_lists, preview.leads, preview.segments) == (5, 1, 1)
    assert preview.skipped_total == 4
    assert {s["reason"]: s["count"] for s in preview.skipped} == {
        "opted_out": 1,
        "suppressed": 1,
        "invalid_number": 1,
        "deleted": 1,
    }
    names = {s["reason"]: s["names"] for s in preview.skipped}
    assert names["opted_out"][0].startswith("Ben Out (+1")
    assert names["invalid_number"] == ["+1555"]
    assert preview.sample == "Hi Ana! Reply STOP to opt out."
    assert preview.problems == [] and preview.warnings == []


def test_launch_check_counts_leads_even_while_the_message_has_problems(
    account, sender, lists
):
    campaign = factories.CampaignFactory(
        account=account, sender=sender, body="Hi {city}! Reply STOP to opt out."
    )
    campaign.lists.set(lists)
    preview = campaign_preview(campaign_id=campaign.pk)
    assert any("Unknown fields" in p for p in preview.problems)
    assert (preview.leads, preview.segments) == (1, 1)  # never "0 leads, 0 segments"


def test_launch_check_says_when_no_lead_can_be_texted(account, sender, lists):
    campaign = factories.CampaignFactory(account=account, sender=sender, body=OK)
    campaign.lists.set(lists)
    lists[0].leads.filter(first_name="Ana").update(deleted_at=timezone.now())
    preview = campaign_preview(campaign_id=campaign.pk)
    assert "None of the leads of the lists can be texted: see why below." in (
        preview.problems
    )
    assert preview.skipped_total == 5


@pytest.mark.parametrize(
    "body, us, expected",
    [
        ("See bit.ly/abc. Reply STOP to opt out.", True, "link shortener"),
        ("See https://example.org. Reply STOP to opt out.", True, "contains a link"),
        ("HUGE SALE TODAY only. Reply STOP to opt out.", True, "ALL CAPS"),
        ("A free lunch. Reply STOP to opt out.", True, '"free"'),
        ("Casino night. Reply STOP to opt out.", True, "prohibit"),
        ("Hi, see you Sunday.", True, "opt out"),
    ],
)
def test_content_warnings_name_what_carriers_filter(body, us, expected):
    warnings = content_warnings(body=body, us_numbers=us)
    assert len(warnings) == 1 and expected in warnings[0]


def test_content_warnings_spare_plain_messages_and_keywords():
    assert content_warnings(body="Hi Ana, text STOP to opt out.", us_numbers=True) == []
    assert content_warnings(body="Casino. Text STOP to end.", us_numbers=False) == []


def test_compose_check_of_unsaved_text_matches_the_saved_launch_check(
    account, sender, lists
):
    campaign = factories.CampaignFactory(account=account, sender=sender, body=OK)
    campaign.lists.set(lists)
    typed = campaign_compose_check(
        account=account,
        body=OK,
        field_defaults={},
        list_ids=[lists[0].pk],
        sender=sender,
    )
    assert typed == campaign_preview(campaign_id=campaign.pk)


def test_compose_check_ignores_another_accounts_lists(account, lists):
    other = factories.LeadListFactory()
    other.leads.add(factories.LeadFactory(account=other.account))
    check = campaign_compose_check(
        account=account,
        body=OK,
        field_defaults={},
        list_ids=[other.pk],
        sender=None,
    )
    assert check.leads_in_lists == 0


def test_compose_check_counts_ucs2_and_names_the_culprits(account, lists):
    check = campaign_compose_check(
        account=account,
        body="Hi {first_name} 😀 " + "x" * 60 + " Reply STOP to opt out.",
        field_defaults={},
        list_ids=[lists[0].pk],
        sender=None,
    )
    assert check.encoding == "UCS-2" and check.not_gsm7 == ["😀"]
    assert check.segments_per_message == 2 and check.segments == 2


def test_test_send_texts_the_sample_through_message_send(
    account, sender, lists, member
):
    campaign = factories.CampaignFactory(account=account, sender=sender, body=OK)
    message = campaign_test_send(
        account=account,
        sender_id=sender.pk,
        body=OK,
        field_defaults={},
        list_ids=[lists[0].pk],
        phone="202-555-0177",
        actor=member,
        campaign=campaign,
    )
    assert (message.phone, message.body) == (
        "+12025550177",
        "Hi Ana! Reply STOP to opt out.",
    )
    assert message.status == Status.QUEUED and message.campaign_id is None
    assert "Sent a test to +12025550177" in LogEntry.objects.get().change_message


def test_test_send_fills_fields_from_defaults_without_leads(account, sender):
    message = campaign_test_send(
        account=account,
        sender_id=sender.pk,
        body=OK,
        field_defaults={"first_name": "friend"},
        list_ids=[],
        phone="+12025550177",
        actor=None,
    )
    assert message.body.startswith("Hi friend!")


@pytest.mark.parametrize(
    "change, code",
    [
        ({"phone": "555"}, "invalid_number"),
        ({"sender_id": None}, "no_sender"),
        ({"list_ids": []}, "missing_field"),
    ],
)
def test_test_send_refuses_in_words(account, sender, lists, change, code):
    kwargs = {
        "account": account,
        "sender_id": sender.pk,
        "body": OK,
        "field_defaults": {},
        "list_ids": [lists[0].pk],
        "phone": "+12025550177",
        "actor": None,
    } | change
    with pytest.raises(SendRefused) as refused:
        campaign_test_send(**kwargs)
    assert refused.value.code == code
    assert not Message.objects.exists()


def test_duplicate_copies_into_a_draft(account, sender, lists, member):
    done = factories.CampaignFactory(
        account=account,
        sender=sender,
        state=Campaign.State.DONE,
        done_at=timezone.now(),
        field_defaults={"first_name": "friend"},
    )
    done.lists.set(lists)
    copy = campaign_duplicate(campaign_id=done.pk, actor=member)
    assert copy.state == Campaign.State.DRAFT and copy.name == f"Copy of {done.name}"
    assert copy.field_defaults == done.field_defaults and copy.sender == sender
    assert list(copy.lists.all()) == lists
    assert LogEntry.objects.filter(object_id=str(copy.pk), user=member).exists()


def test_launch_and_suppress_leave_audit_entries_with_the_user(
    account, sender, lists, member, error_code
):
    campaign = factories.CampaignFactory(account=account, sender=sender, body=OK)
    campaign.lists.set(lists)
    campaign_launch(campaign_id=campaign.pk, launched_by=member)
    ErrorCode.objects.filter(pk=error_code.pk).update(
        number_advice=ErrorCode.NumberAdvice.REMOVE
    )
    factories.MessageFactory(
        campaign=campaign, status=Status.UNDELIVERED, error=error_code
    )
    campaign_suppress_permanent(campaign_id=campaign.pk, actor=member)
    entries = LogEntry.objects.filter(object_id=str(campaign.pk)).order_by("pk")
    assert [(e.user, e.change_message) for e in entries] == [
        (member, "Launched"),
        (member, "Suppressed 1 number with permanent errors"),
    ]


def test_a_sweep_leaves_no_audit_entry(account, sender, lists):
    campaign = factories.CampaignFactory(account=account, sender=sender, body=OK)
    campaign.lists.set(lists)
    campaign_launch(campaign_id=campaign.pk, launched_by=None)
    assert not LogEntry.objects.exists()
