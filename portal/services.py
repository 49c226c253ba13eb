"""Credit: atomic changes to an account's balance, each written to the ledger."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F

from portal.models import Account, CreditEntry


class InsufficientCredit(Exception):
    """The account cannot pay for what was asked."""


@transaction.atomic
def credit_charge(*, account_id: int, segments: int, note: str = "") -> None:
    """Take segments from the balance, or raise InsufficientCredit and take nothing."""
    if segments <= 0:
        return
    # The guard in the WHERE clause keeps the balance from going negative even
    # when two workers charge the same account at once.
    changed = Account.objects.filter(
        pk=account_id, credit_balance__gte=segments
    ).update(credit_balance=F("credit_balance") - segments)
    if not changed:
        raise InsufficientCredit(account_id)
    CreditEntry.objects.create(
        account_id=account_id,
        delta=-segments,
        reason=CreditEntry.Reason.CHARGE,
        note=note,
    )


@transaction.atomic
def credit_refund(*, account_id: int, segments: int, note: str = "") -> None:
    """Give back segments charged for messages whose failure is not billable."""
    if segments <= 0:
        return
    Account.objects.filter(pk=account_id).update(
        credit_balance=F("credit_balance") + segments
    )
    CreditEntry.objects.create(
        account_id=account_id,
        delta=segments,
        reason=CreditEntry.Reason.REFUND,
        note=note,
    )


@transaction.atomic
def credit_adjust(
    *, account_id: int, delta: int, note: str, actor: AbstractBaseUser | None
) -> Account:
    """Add or remove credit by hand (support); the ledger records who and why."""
    if not note.strip():
        raise ValueError("A credit adjustment needs a note saying why.")
    account = Account.objects.select_for_update().get(pk=account_id)
    if account.credit_balance + delta < 0:
        raise InsufficientCredit(account_id)
    account.credit_balance = F("credit_balance") + delta
    account.save(update_fields=["credit_balance", "updated_at"])
    CreditEntry.objects.create(
        account_id=account_id,
        delta=delta,
        reason=CreditEntry.Reason.ADJUSTMENT,
        note=note,
        actor=actor,
    )
    account.refresh_from_db()
    return account
