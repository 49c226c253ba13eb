"""Reads shaped for the API's lists of portal data."""

from django.db.models import QuerySet

from portal.models import CreditEntry


def credit_entry_list_for_api(*, account_id: int) -> QuerySet[CreditEntry]:
    """The account's credit ledger, newest first."""
    return CreditEntry.objects.filter(account_id=account_id).order_by(
        "-created_at", "-pk"
    )
