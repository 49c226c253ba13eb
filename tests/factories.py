"""factory_boy factories for every model the tests build."""

from datetime import timedelta

import factory

from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign, Lead, LeadList
from messaging.models import Message, Sender
from messaging.statuses import FINAL, Status
from portal.models import Account, Membership


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Account {n}")
    slug = factory.Sequence(lambda n: f"account-{n}")
    credit_balance = 10_000


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("password")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    account = factory.SubFactory(AccountFactory)


class SenderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Sender

    account = factory.SubFactory(AccountFactory)
    provider = "simulator"
    phone_number = factory.Sequence(lambda n: f"+1555010{n:04d}")


class LeadListFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadList

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"List {n}")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    account = factory.SubFactory(AccountFactory)
    phone = factory.Sequence(lambda n: f"+1202555{n:04d}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    account = factory.SubFactory(AccountFactory)
    name = factory.Sequence(lambda n: f"Campaign {n}")
    body = "Hi {first_name}, see you Sunday! Reply STOP to opt out."


class MessageFactory(factory.django.DjangoModelFactory):
    """An outbound message of a campaign; final statuses get their timestamps."""

    class Meta:
        model = Message

    campaign = factory.SubFactory(CampaignFactory)
    account = factory.SelfAttribute("campaign.account")
    sender = factory.SelfAttribute("campaign.sender")
    lead = factory.SubFactory(LeadFactory, account=factory.SelfAttribute("..account"))
    phone = factory.SelfAttribute("lead.phone")
    body = "Hello"
    status = Status.QUEUED
    provider = "simulator"
    sent_at = factory.LazyAttribute(
        lambda m: timezone.now()
        if m.status
        in (Status.SENT, Status.UNKNOWN, Status.DELIVERED, Status.UNDELIVERED)
        else None
    )
    final_at = factory.LazyAttribute(
        lambda m: timezone.now() if m.status in FINAL else None
    )


def outcome_messages(
    campaign,
    status: str,
    n: int,
    *,
    error=None,
    took=timedelta(seconds=5),
    at=None,
    carrier=None,
):
    """n messages of the campaign that reached status at `at` (now), `took` after sending."""
    at = at or timezone.now()
    leads = LeadFactory.create_batch(n, account=campaign.account)
    Message.objects.bulk_create(
        Message(
            account_id=campaign.account_id,
            campaign=campaign,
            sender_id=campaign.sender_id,
            lead=lead,
            phone=lead.phone,
            body="Hi",
            status=status,
            error=error,
            carrier=carrier,
            sent_at=at - took,
            final_at=at if status != Status.UNKNOWN else None,
        )
        for lead in leads
    )
