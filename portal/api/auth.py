"""API tokens: create (shown once), authenticate by SHA-256, revoke; and the request's account."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef
from django.utils import timezone
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from portal.models import Account, ApiToken, Membership
from portal.tenancy import account_list_for_user

TOKEN_PREFIX_LENGTH = 8
# Writing last_used_at on every call would make each read a write; a minute is
# fine-grained enough to tell live keys from forgotten ones.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_create(
    *, account: Account, name: str = "", created_by: AbstractBaseUser | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the account; return it and the key, which is never stored."""
    prefix = secrets.token_hex(TOKEN_PREFIX_LENGTH // 2)
    key = f"{prefix}.{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        account=account,
        name=name,
        prefix=prefix,
        key_hash=token_hash(key),
        created_by=created_by,
    )
    return token, key


def api_token_revoke(*, token_id: int) -> bool:
    """Revoke a token at once; True if it was still active."""
    return bool(
        ApiToken.objects.filter(pk=token_id, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def _creator_is_member() -> Exists:
    """Whether a token's creator still belongs to its account (NULL creator: False)."""
    return Exists(
        Membership.objects.filter(
            user=OuterRef("created_by"), account=OuterRef("account")
        )
    )


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` (or `Token <key>`); the token carries its account.

    A token made by a member works while they belong to the account and their
    user is active: someone who left takes no working key with them. One made
    by the operator (support staff in the support site, or manage.py
    create_token, which records no creator) is the account's own until revoked.
    """

    keywords = ("bearer", "token")

    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request).split()
        if (
            not header
            or header[0].decode(errors="replace").lower() not in self.keywords
        ):
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Give exactly one token after Bearer."
            )
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The token is not valid.") from exc
        token = (
            ApiToken.objects.select_related("account", "created_by")
            .annotate(creator_is_member=_creator_is_member())
            .filter(key_hash=token_hash(key))
            .first()
        )
        if token is None or token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("The token is not valid or revoked.")
        creator = token.created_by
        if creator is not None and not (
            creator.is_active and (token.creator_is_member or creator.is_staff)
        ):
            raise exceptions.AuthenticationFailed(
                "The token stopped working when the person who made it left the "
                "account. An owner of the account can make a new one."
            )
        now = timezone.now()
        if (
            token.last_used_at is None
            or token.last_used_at < now - LAST_USED_RESOLUTION
        ):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        user = token.created_by if token.created_by_id else AnonymousUser()
        return user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def request_account(request: Request) -> Account | None:
    """The account a request acts for: the token's, or the session user's own.

    A user in several accounts names one with the X-Account header (its slug).
    """
    if hasattr(request, "_portal_account"):
        return request._portal_account
    account = None
    if isinstance(request.auth, ApiToken):
        account = request.auth.account
    elif request.user and request.user.is_authenticated:
        accounts = account_list_for_user(user=request.user)
        slug = request.headers.get("X-Account")
        if slug:
            account = accounts.filter(slug=slug).first()
        else:
            mine = list(accounts[:2])
            account = mine[0] if len(mine) == 1 else None
    request._portal_account = account
    return account


def request_actor(request: Request) -> AbstractBaseUser | None:
    """The user to record as having acted (the token's creator for token calls)."""
    user = request.user
    return user if user is not None and user.is_authenticated else None


class HasAccount(permissions.BasePermission):
    """Authenticated, and acting for exactly one account."""

    message = (
        "Authenticate with an API token, or sign in and name your account in X-Account."
    )

    def has_permission(self, request, view) -> bool:
        if request.auth is None and not (
            request.user and request.user.is_authenticated
        ):
            raise exceptions.NotAuthenticated()
        return request_account(request) is not None
