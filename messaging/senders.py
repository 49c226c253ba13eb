"""Senders: a number at a provider, with exactly the credentials that provider needs."""

from collections.abc import Iterable, Mapping

import phonenumbers

from django.core.exceptions import ValidationError
from django.db import transaction

from messaging.credentials import credentials_encrypt
from messaging.models import Sender
from messaging.providers import PROVIDERS
from messaging.providers.base import webhook_url
from portal.models import Account


def credentials_parse(items: Iterable[str]) -> dict[str, str]:
    """Read KEY=VALUE items (command options, lines of the admin form) into a dict."""
    credentials = {}
    for item in items:
        key, sep, value = item.strip().partition("=")
        if not sep or not key.strip():
            raise ValidationError(f"{key!r} is not KEY=VALUE")
        credentials[key.strip()] = value.strip()
    return credentials


def credentials_help() -> str:
    """Each provider's credential keys, for the people typing them in."""
    return "; ".join(
        name + ": " + ", ".join(provider.credential_keys)
        for name, provider in sorted(PROVIDERS.items())
        if provider.credential_keys
    )


def sender_credentials_check(*, provider: str, credentials: Mapping[str, str]) -> None:
    """Refuse an unknown provider, and credentials missing or adding a key, naming it."""
    if provider not in PROVIDERS:
        known = ", ".join(sorted(PROVIDERS))
        raise ValidationError(f"Unknown provider {provider!r}; choose one of {known}.")
    expected = PROVIDERS[provider].credential_keys
    missing = [key for key in expected if not credentials.get(key)]
    unknown = sorted(set(credentials) - set(expected))
    problems = [f"missing credential {key!r}" for key in missing]
    problems += [f"unknown credential {key!r} for {provider}" for key in unknown]
    if problems:
        raise ValidationError("; ".join(problems))


def phone_e164(*, number: str, region: str) -> str:
    """Normalise a number to E.164, reading it in region when it has no country code."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{number!r} is not a phone number: {exc}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(f"{number!r} is not a possible phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@transaction.atomic
def sender_create(
    *,
    account: Account,
    provider: str,
    phone_number: str,
    credentials: Mapping[str, str],
    name: str = "",
) -> Sender:
    """Create a sender whose credentials are checked now and encrypted at rest."""
    sender_credentials_check(provider=provider, credentials=credentials)
    number = phone_e164(number=phone_number, region=account.default_country)
    existing = Sender.objects.filter(
        account=account, provider=provider, phone_number=number
    )
    if existing.exists():
        raise ValidationError(f"{account} already has a {provider} sender {number}.")
    return Sender.objects.create(
        account=account,
        provider=provider,
        phone_number=number,
        name=name,
        credentials_encrypted=credentials_encrypt(dict(credentials)),
    )


def sender_credentials_set(*, sender: Sender, credentials: Mapping[str, str]) -> None:
    """Replace a sender's credentials, checked as at creation (staff edit them here)."""
    sender_credentials_check(provider=sender.provider, credentials=credentials)
    sender.credentials_encrypted = credentials_encrypt(dict(credentials))
    sender.save(update_fields=["credentials_encrypted", "updated_at"])


def sender_webhook_url(sender: Sender) -> str:
    """The URL to paste into the provider's console for this sender."""
    return webhook_url(sender.provider, str(sender.uuid))
