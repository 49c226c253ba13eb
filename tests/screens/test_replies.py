"""Replies on the portal: the conversation's reply box, the inbox and its dashboard count."""

from zoneinfo import ZoneInfo

import pytest

from django.urls import reverse

from messaging.models import Message, OptOut
from messaging.outbound import MAX_BODY_CHARS
from messaging.statuses import Status
from tests import factories
from tests.campaigns.test_replies import sent_to, text_from

pytestmark = pytest.mark.django_db

INBOX = "portal:campaigns_inboxlead_changelist"


def _conversation(lead) -> str:
    return reverse("portal:campaigns_lead_change", args=[lead.pk])


@pytest.fixture
def waiting(account, sender):
    """A lead who was texted by a campaign and answered it."""
    lead = factories.LeadFactory(account=account, first_name="Ada", last_name="Byron")
    sent_to(lead, minutes_ago=10, sender=sender)
    text_from(lead, minutes_ago=5, body="Can I bring a friend?", sender=sender)
    return lead


def test_conversation_reads_oldest_first_telling_who_said_what(portal_client, waiting):
    # when
    response = portal_client.get(_conversation(waiting))
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert [item["message"].direction for item in response.context["timeline"]] == [
        "outbound",
        "inbound",
    ]
    assert html.index("Yes, see you Sunday.") < html.index("Can I bring a friend?")
    assert "From the lead" in html and "To the lead" in html
    assert "One-off message" in html
    assert "Times in the UTC time zone" in html
    assert 'id="reply"' in html and "Credit: 10000 segments left." in html


def test_reply_is_sent_shown_with_its_status_and_takes_the_lead_out_of_the_inbox(
    portal_client, account, sender, waiting, django_capture_on_commit_callbacks
):
    assert portal_client.get(reverse(INBOX)).context["rows"][0]["lead"] == waiting
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = portal_client.post(
            _conversation(waiting), {"sender": sender.pk, "body": "Of course!"}
        )
    # then
    reply = Message.objects.get(body="Of course!")
    assert response.status_code == 302
    assert response.url == f"{_conversation(waiting)}#message-{reply.pk}"
    assert (reply.lead, reply.sender, reply.campaign) == (waiting, sender, None)
    response = portal_client.get(response.url)
    html = response.content.decode()
    assert "Reply queued (1 segment)" in html
    assert response.context["timeline"][-1]["message"] == reply
    assert f'id="message-{reply.pk}"' in html and reply.get_status_display() in html
    assert portal_client.get(reverse(INBOX)).context["rows"] == []


def test_opted_out_lead_has_no_reply_box_and_a_forced_reply_is_refused(
    portal_client, account, sender, waiting
):
    OptOut.objects.create(account=account, phone=waiting.phone, source="keyword")
    html = portal_client.get(_conversation(waiting)).content.decode()
    assert "This person opted out: replies cannot be sent to them." in html
    assert "<textarea" not in html
    response = portal_client.post(
        _conversation(waiting), {"sender": sender.pk, "body": "Please come back"}
    )
    assert response.status_code == 200
    assert "Not sent. This number opted out: it must not be texted." in (
        response.content.decode()
    )
    assert not Message.objects.filter(body="Please come back").exists()


@pytest.mark.parametrize(
    ("credit", "body", "words"),
    [
        (0, "Hello", "Not sent: the account has 0 segments of credit left"),
        (100, "x" * (MAX_BODY_CHARS + 1), "providers accept at most 1600"),
        (100, "   ", "Write the message: the body is empty."),
    ],
)
def test_reply_refusals_say_why_in_plain_words(
    portal_client, account, sender, waiting, credit, body, words
):
    account.credit_balance = credit
    account.save(update_fields=["credit_balance"])
    response = portal_client.post(
        _conversation(waiting), {"sender": sender.pk, "body": body}
    )
    assert response.status_code == 200
    assert words in response.content.decode()
    assert Message.objects.filter(lead=waiting).count() == 2  # nothing new


def test_reply_from_another_accounts_sender_is_refused(portal_client, waiting):
    foreign = factories.SenderFactory()
    response = portal_client.post(
        _conversation(waiting), {"sender": foreign.pk, "body": "Hi"}
    )
    assert "Select a valid choice" in response.content.decode()
    assert not Message.objects.filter(body="Hi").exists()


def test_inbox_lists_waiting_leads_with_their_text_and_a_reply_link(
    portal_client, waiting
):
    html = portal_client.get(reverse(INBOX)).content.decode()
    assert "Ada Byron" in html and "Can I bring a friend?" in html
    assert f'{_conversation(waiting)}#reply"' in html
    assert "1</strong> waiting for an answer" in html


def test_inbox_is_paginated(portal_client, account):
    for lead in factories.LeadFactory.create_batch(51, account=account):
        text_from(lead)
    first = portal_client.get(reverse(INBOX))
    assert len(first.context["rows"]) == 50 and "Page 1 of 2" in first.content.decode()
    assert len(portal_client.get(reverse(INBOX), {"page": 2}).context["rows"]) == 1


def test_inbox_of_another_account_stays_out(portal_client, waiting):
    text_from(factories.LeadFactory(), body="Not yours")
    html = portal_client.get(reverse(INBOX)).content.decode()
    assert "Not yours" not in html


def test_dashboard_counts_the_waiting_leads_and_links_the_inbox(
    portal_client, account, waiting
):
    text_from(factories.LeadFactory(account=account))
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert 'id="widget-inbox"' in html
    assert '<strong class="inbox-count">2</strong> leads are waiting' in html
    assert reverse(INBOX) in html


def test_dashboard_help_explains_the_inbox(portal_client):
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert "Inbox: replies waiting for an answer" in html
    assert "nothing was sent to them since" in html


def test_conversation_shows_times_in_the_accounts_time_zone(
    portal_client, account, waiting
):
    account.time_zone = "America/New_York"
    account.save(update_fields=["time_zone"])
    response = portal_client.get(_conversation(waiting))
    html = response.content.decode()
    received = response.context["timeline"][-1]["message"].created_at
    local = received.astimezone(ZoneInfo("America/New_York"))
    assert "Times in the America/New_York time zone." in html
    assert local.strftime("%Y-%m-%d %H:%M") in html
    inbox = portal_client.get(reverse(INBOX)).content.decode()
    assert "Received (America/New_York)" in inbox
    assert local.strftime("%Y-%m-%d %H:%M") in inbox


def test_dashboard_says_when_no_reply_waits(portal_client, account):
    html = portal_client.get(reverse("portal:index")).content.decode()
    assert "No replies waiting" in html


@pytest.mark.parametrize("n", [1, 50])
def test_inbox_query_count_is_flat(
    portal_client, account, django_assert_num_queries, n
):
    for lead in factories.LeadFactory.create_batch(n, account=account):
        sent_to(lead, minutes_ago=3)
        text_from(lead, minutes_ago=2)
        text_from(lead, minutes_ago=1)
    portal_client.get(reverse(INBOX))  # warm the session
    # session, user, account ids; the count, the page, its leads
    with django_assert_num_queries(6):
        response = portal_client.get(reverse(INBOX))
    assert len(response.context["rows"]) == n


def test_inbox_counts_a_campaign_message_after_the_text_as_an_answer(
    portal_client, account, sender, waiting
):
    # A queued campaign message after the text answers it as well: the lead
    # was texted since (the inbox is about the last word, whoever wrote it).
    factories.MessageFactory(
        campaign=factories.CampaignFactory(account=account, sender=sender),
        lead=waiting,
        status=Status.QUEUED,
    )
    assert portal_client.get(reverse(INBOX)).context["rows"] == []


def test_reply_to_another_accounts_lead_is_404_and_sends_nothing(portal_client):
    stranger = factories.LeadFactory()
    sender = factories.SenderFactory(account=stranger.account)
    response = portal_client.post(
        _conversation(stranger), {"sender": sender.pk, "body": "Hello stranger"}
    )
    assert response.status_code == 404
    assert not Message.objects.filter(body="Hello stranger").exists()
