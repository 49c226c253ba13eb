"""Opt-outs: keywords people text, and the record of who may not be texted."""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import ngettext

from messaging.hooks.outbox import hook_opt_outs_emit
from messaging.models import OptOut, OptOutEvent
from portal.bulk import chunked
from portal.phones import phone_parse

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
    event = OptOutEvent.objects.create(
        account_id=account_id,
        phone=phone,
        opted_out=opted_out,
        source=source,
        detail=detail,
        actor=actor,
        created_at=timezone.now(),
    )
    hook_opt_outs_emit(events=[event])


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


IMPORT_BATCH = 1000  # numbers looked up and inserted per query
BAD_ROWS_KEPT = (
    100  # rows that are not numbers named in the report; the count says the rest
)
_CELL_END = re.compile(r"[,;\t|]")


@dataclass
class OptOutImport:
    """What an opt-out file did: numbers added, numbers already opted out, rows not read."""

    added: int = 0
    already: int = 0
    rows_failed: int = 0
    bad_rows: list[tuple[int, str]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """In words: "2 numbers opted out, 1 already opted out, 1 row not a number."."""
        parts = [
            ngettext("%(n)d number opted out", "%(n)d numbers opted out", self.added)
            % {"n": self.added}
        ]
        if self.already:
            parts.append(f"{self.already} already opted out")
        if self.rows_failed:
            parts.append(
                ngettext(
                    "%(n)d row not a number", "%(n)d rows not numbers", self.rows_failed
                )
                % {"n": self.rows_failed}
            )
        return ", ".join(parts) + "."


def _first_cells(lines: Iterable[bytes | str]) -> Iterable[tuple[int, str]]:
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes):
            try:
                line = line.decode("utf-8-sig")
            except UnicodeDecodeError:
                line = line.decode("cp1252", errors="replace")
        cell = _CELL_END.split(line, maxsplit=1)[0].strip().strip('"').strip()
        if cell and not (number == 1 and not any(c.isdigit() for c in cell)):
            yield number, cell  # a first line without digits is a header


def opt_outs_import(
    *,
    account_id: int,
    region: str,
    lines: Iterable[bytes | str],
    actor: AbstractBaseUser | None,
) -> OptOutImport:
    """Opt out every number of a one-column file, audited and in bulk; name bad rows."""
    result = OptOutImport()
    phones: dict[str, None] = {}  # in file order, once each
    for row, cell in _first_cells(lines):
        parsed = phone_parse(cell, region=region)
        if parsed.e164 is None:
            result.rows_failed += 1
            if len(result.bad_rows) < BAD_ROWS_KEPT:
                result.bad_rows.append((row, cell[:40]))
        else:
            phones[parsed.e164] = None
    now = timezone.now()
    for batch in chunked(phones, IMPORT_BATCH):
        with transaction.atomic():
            existing = set(
                OptOut.objects.filter(
                    account_id=account_id, phone__in=batch
                ).values_list("phone", flat=True)
            )
            new = [phone for phone in batch if phone not in existing]
            OptOut.objects.bulk_create(
                [
                    OptOut(
                        account_id=account_id,
                        phone=phone,
                        source=OptOutEvent.Source.STAFF,
                        detail="Opt-out file",
                    )
                    for phone in new
                ],
                ignore_conflicts=True,
            )
            events = OptOutEvent.objects.bulk_create(
                OptOutEvent(
                    account_id=account_id,
                    phone=phone,
                    opted_out=True,
                    source=OptOutEvent.Source.STAFF,
                    detail="Opt-out file",
                    actor=actor,
                    created_at=now,
                )
                for phone in new
            )
            hook_opt_outs_emit(events=events)
        result.added += len(new)
        result.already += len(existing)
    return result
