"""List membership services and the list's counts."""

import pytest

from django.utils import timezone

from campaigns.leads import (
    lead_delete,
    leads_add_to_list,
    leads_delete,
    leads_remove_from_list,
)
from campaigns.models import Lead
from campaigns.selectors import lead_list_counts
from messaging.models import OptOut
from tests import factories

pytestmark = pytest.mark.django_db


def test_leads_add_to_list_counts_only_newcomers_of_the_lists_account(account):
    # given
    lead_list = factories.LeadListFactory(account=account)
    member, newcomer, deleted = factories.LeadFactory.create_batch(3, account=account)
    lead_list.leads.add(member)
    lead_delete(lead=deleted)
    foreign = factories.LeadFactory()
    # when
    added = leads_add_to_list(
        lead_list=lead_list,
        lead_ids=[member.pk, newcomer.pk, deleted.pk, foreign.pk],
    )
    # then
    assert added == 1
    assert set(lead_list.leads.all()) == {member, newcomer}


def test_leads_add_to_list_marks_the_leads_changed_for_the_feed(account):
    lead_list = factories.LeadListFactory(account=account)
    lead = factories.LeadFactory(account=account)
    before = Lead.objects.get(pk=lead.pk).updated_at
    leads_add_to_list(lead_list=lead_list, lead_ids=[lead.pk])
    assert Lead.objects.get(pk=lead.pk).updated_at > before


def test_leads_remove_from_list_takes_a_queryset(account):
    lead_list = factories.LeadListFactory(account=account)
    other_list = factories.LeadListFactory(account=account)
    leads = factories.LeadFactory.create_batch(3, account=account)
    lead_list.leads.add(*leads)
    other_list.leads.add(*leads)
    removed = leads_remove_from_list(
        lead_list=lead_list,
        lead_ids=Lead.objects.filter(pk__in=[leads[0].pk, leads[1].pk]).values("pk"),
    )
    assert removed == 2
    assert list(lead_list.leads.all()) == [leads[2]]
    assert other_list.leads.count() == 3  # other lists untouched


def test_lead_list_counts_members_opted_out_and_deleted(account):
    lead_list = factories.LeadListFactory(account=account)
    leads = factories.LeadFactory.create_batch(4, account=account)
    lead_list.leads.add(*leads)
    OptOut.objects.create(account=account, phone=leads[0].phone, source="keyword")
    # opted out and deleted counts as deleted only
    OptOut.objects.create(account=account, phone=leads[1].phone, source="keyword")
    Lead.objects.filter(pk=leads[1].pk).update(deleted_at=timezone.now())
    # the same number opted out in another account does not count
    OptOut.objects.create(
        account=factories.AccountFactory(), phone=leads[2].phone, source="keyword"
    )
    assert lead_list_counts(lead_list_id=lead_list.pk) == {
        "members": 4,
        "opted_out": 1,
        "deleted": 1,
    }


def test_leads_delete_is_soft_and_counts_only_live_leads(account):
    leads = factories.LeadFactory.create_batch(3, account=account)
    lead_delete(lead=leads[0])
    deleted_at = Lead.objects.get(pk=leads[0].pk).deleted_at
    assert leads_delete(lead_ids=[lead.pk for lead in leads[:2]]) == 1
    assert Lead.objects.get(pk=leads[0].pk).deleted_at == deleted_at  # kept
    assert Lead.objects.filter(deleted_at__isnull=True).get() == leads[2]
