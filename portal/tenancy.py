"""Which accounts a user may see: the one rule every portal queryset is scoped by."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from portal.models import Account


def account_list_for_user(
    *, user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Account]:
    """Return the accounts the user belongs to (none for anonymous users)."""
    if not user.is_authenticated:
        return Account.objects.none()
    return Account.objects.filter(memberships__user=user)
