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


def _campaign_form(campaign, **changes) -> dict:
    return {
        "account": campaign.account_id,
        "name": campaign.name,
        "sender": campaign.sender_id or "",
        "body": campaign.body,
        "field_defaults": "{}",
        "validity_hours": "",
        "lists": [],
        **changes,
    }


def test_a_running_campaign_cannot_be_changed_on_support(
    support_client, campaign, account
):
    from campaigns.models import Campaign

    Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.IN_PROGRESS)
    campaign.refresh_from_db()
    body = campaign.body
    url = reverse("support:campaigns_campaign_change", args=[campaign.pk])
    page = support_client.get(url).content.decode()
    assert 'name="body"' not in page and 'name="sender"' not in page
    assert 'name="lists"' not in page
    response = support_client.post(url, _campaign_form(campaign, body="Changed!"))
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.body == body


def test_support_saves_a_draft_through_the_campaign_services(
    support_client, campaign, account
):
    from django.contrib.admin.models import ADDITION, LogEntry

    from campaigns.models import Campaign

    people = factories.LeadListFactory(account=account)
    response = support_client.post(
        reverse("support:campaigns_campaign_change", args=[campaign.pk]),
        _campaign_form(campaign, body="Hi {first_name}", lists=[people.pk]),
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    campaign.refresh_from_db()
    assert campaign.body == "Hi {first_name}"
    assert list(campaign.lists.all()) == [people]
    entry = LogEntry.objects.get(object_id=str(campaign.pk))
    assert entry.change_message == "Changed the draft"
    assert entry.user == support_client.staff
    response = support_client.post(
        reverse("support:campaigns_campaign_add"),
        _campaign_form(campaign, name="Second", lists=[people.pk]),
    )
    assert response.status_code == 302
    added = Campaign.objects.get(name="Second")
    assert added.state == Campaign.State.DRAFT and list(added.lists.all()) == [people]
    assert LogEntry.objects.get(object_id=str(added.pk)).action_flag == ADDITION


def test_cancel_selected_says_which_campaigns_were_left(
    support_client, campaign, account, sender
):
    from django.utils import timezone

    from campaigns.models import Campaign

    done = factories.CampaignFactory(
        account=account,
        sender=sender,
        name="Spring sale",
        state=Campaign.State.DONE,
        done_at=timezone.now(),
    )
    response = support_client.post(
        reverse("support:campaigns_campaign_changelist"),
        {"action": "cancel_selected", "_selected_action": [campaign.pk, done.pk]},
        follow=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "Spring sale is done: it can no longer be canceled." in page
    assert "0 queued messages canceled." in page
    campaign.refresh_from_db()
    done.refresh_from_db()
    assert campaign.state == Campaign.State.CANCELED
    assert done.state == Campaign.State.DONE


def test_support_lead_saves_go_through_the_lead_services(
    support_client, account, monkeypatch
):
    from campaigns import admin
    from campaigns.models import Lead

    calls = []
    for name in ("lead_create", "lead_update"):
        service = getattr(admin, name)
        monkeypatch.setattr(
            admin,
            name,
            lambda _service=service, _name=name, **kw: (
                calls.append(_name) or _service(**kw)
            ),
        )
    form = {"account": account.pk, "phone": "+12025550123", "fields": "{}"}
    add = support_client.post(reverse("support:campaigns_lead_add"), form)
    assert add.status_code == 302, add.context["adminform"].form.errors
    lead = Lead.objects.get()
    assert lead.checked_phone == "+12025550123"
    change = support_client.post(
        reverse("support:campaigns_lead_change", args=[lead.pk]),
        {**form, "phone": "+1202555", "first_name": "Ann"},
    )
    assert change.status_code == 302
    lead.refresh_from_db()
    assert lead.first_name == "Ann" and lead.checked_phone == ""
    assert calls == ["lead_create", "lead_update"]
