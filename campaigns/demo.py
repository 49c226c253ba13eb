"""The demo account that `make run` shows: leads, lists and a simulated sender."""

from django.contrib.auth import get_user_model
from django.db import transaction

from campaigns.models import Lead, LeadList
from messaging.models import Sender
from portal.models import Account, Membership

DEMO_LEADS = 200
DEMO_FIRST_NAMES = ["Ana", "Ben", "Chloe", "David", "Esther", "Felix", "Grace", "Hugo"]


@transaction.atomic
def demo_seed() -> Account:
    """Create the demo account and its data; running it again changes nothing."""
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
    Sender.objects.get_or_create(
        account=account,
        provider="simulator",
        phone_number="+15550100001",
        defaults={"name": "Demo number (simulated)", "throughput_per_second": 50},
    )
    members, _ = LeadList.objects.get_or_create(account=account, name="Members")
    Lead.objects.bulk_create(
        [
            Lead(
                account=account,
                phone=f"+1202555{n:04d}",
                first_name=DEMO_FIRST_NAMES[n % len(DEMO_FIRST_NAMES)],
                last_name=f"Member {n}",
            )
            for n in range(DEMO_LEADS)
        ],
        ignore_conflicts=True,
    )
    members.leads.add(
        *Lead.objects.filter(account=account).values_list("pk", flat=True)
    )
    return account
