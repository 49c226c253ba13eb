"""Opt-outs: keywords people text, and the record of who may not be texted."""

import re
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from messaging.models import OptOut, OptOutEvent

# The recommended portal set (reference/providers.md section 5): Twilio's,
# Telnyx's, CTIA's and the FCC's revocation words. Whole message only.
OPT_OUT_WORDS = frozenset(
    {
        "stop",
        "stopall",
        "stop all",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "revoke",
        "optout",
        "opt out",
        "opt-out",
    }
)
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
HELP_WORDS = frozenset({"help", "info"})

Intent = Literal["opt_out", "opt_in", "help"]
_EDGE_PUNCTUATION = re.compile(r"^[\W_]+|[\W_]+$")


def keyword_intent(text: str) -> Intent | None:
    """Read an inbound text as an opt-out, opt-in or help request, or None.

    Exact match after trimming, case-folding and dropping surrounding
    punctuation: "Stop." counts, "please don't stop" does not.
    """
    word = " ".join(_EDGE_PUNCTUATION.sub("", text.strip()).casefold().split())
    if word in OPT_OUT_WORDS:
        return "opt_out"
    if word in OPT_IN_WORDS:
        return "opt_in"
    if word in HELP_WORDS:
        return "help"
    return None


def _audit(
    *,
    account_id: int,
    phone: str,
    opted_out: bool,
    source: str,
    detail: str,
    actor: AbstractBaseUser | None,
) -> None:
    OptOutEvent.objects.create(
        account_id=account_id,
        phone=phone,
        opted_out=opted_out,
        source=source,
        detail=detail,
        actor=actor,
        created_at=timezone.now(),
    )


@transaction.atomic
def opt_out_record(
    *,
    account_id: int,
    phone: str,
    source: str,
    detail: str = "",
    actor: AbstractBaseUser | None = None,
) -> bool:
    """Opt a number out for the whole account; True if it was not opted out before."""
    _, created = OptOut.objects.get_or_create(
        account_id=account_id,
        phone=phone,
        defaults={"source": source, "detail": detail},
    )
    if created:
        _audit(
            account_id=account_id,
            phone=phone,
            opted_out=True,
            source=source,
            detail=detail,
            actor=actor,
        )
    return created


@transaction.atomic
def opt_in_record(
    *,
    account_id: int,
    phone: str,
    source: str,
    detail: str = "",
    actor: AbstractBaseUser | None = None,
) -> bool:
    """Opt a number back in; True if it was opted out before."""
    deleted, _ = OptOut.objects.filter(account_id=account_id, phone=phone).delete()
    if deleted:
        _audit(
            account_id=account_id,
            phone=phone,
            opted_out=False,
            source=source,
            detail=detail,
            actor=actor,
        )
    return bool(deleted)
