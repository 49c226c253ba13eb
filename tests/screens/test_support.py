"""The support site: every account, read-only history, audited actions."""

import pytest

from django.urls import reverse

from messaging.models import OptOut, OptOutEvent
from portal.models import CreditEntry
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_client(client):
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    staff.save()
    client.force_login(staff)
    client.staff = staff
    return client


def test_big_changelists_never_count_the_whole_table():
    from portal.sites import support_site

    for model_admin in support_site._registry.values():
        name = model_admin.model._meta.label
        if name in {"messaging.Message", "messaging.MessageEvent", "campaigns.Lead"}:
            assert model_admin.show_full_result_count is False, name
            assert model_admin.raw_id_fields, name


def test_opt_in_action_is_audited(support_client, account):
    OptOut.objects.create(account=account, phone="+12025550100", source="keyword")
    response = support_client.post(
        reverse("support:messaging_optout_changelist"),
        {
            "action": "opt_in_selected",
            "_selected_action": list(OptOut.objects.values_list("pk", flat=True)),
        },
    )
    assert response.status_code == 302
    assert not OptOut.objects.exists()
    event = OptOutEvent.objects.get()
    assert event.opted_out is False and event.actor == support_client.staff


def test_credit_adjustment_goes_through_the_ledger(support_client, account):
    response = support_client.post(
        reverse("support:portal_creditentry_add"),
        {"account": account.pk, "delta": 500, "note": "Goodwill"},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credit_balance == 10_500
    entry = CreditEntry.objects.get()
    assert entry.actor == support_client.staff and entry.reason == "adjustment"


def test_credit_adjustment_cannot_go_negative(support_client, account):
    response = support_client.post(
        reverse("support:portal_creditentry_add"),
        {"account": account.pk, "delta": -20_000, "note": "Oops"},
    )
    assert response.status_code == 200
    assert not CreditEntry.objects.exists()
