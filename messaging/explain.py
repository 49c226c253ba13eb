"""Explain any status word, error code or error title in plain words (support's first tool).

The catalog is read from its file, not the ErrorCode table: support's first
tool answers on a fresh clone with no database, and the file is the source
the table copies (codes first seen in the wild explain themselves as unknown).
"""

import functools
from dataclasses import dataclass, field

from messaging.catalog import catalog_rows
from messaging.models import ErrorCode
from messaging.statuses import (
    BUCKET_MEANING,
    STATUS_MEANING,
    WORDS,
    Bucket,
    Status,
    bucket_of,
    is_final,
    word_status,
)

# What to do with a number whose latest error carries this advice, in the words
# the lead's page, the API's documentation and `manage.py explain` use.
NUMBER_ADVICE_TEXT = {
    ErrorCode.NumberAdvice.REMOVE: "Number looks invalid: update or remove it.",
    ErrorCode.NumberAdvice.OPTED_OUT: "This person opted out: do not text them.",
    ErrorCode.NumberAdvice.KEEP: "Keep the number: the last error was temporary.",
}
NUMBER_ADVICE_HELP = "What to do with the number. " + " ".join(
    f"{advice.value}: {text}" for advice, text in NUMBER_ADVICE_TEXT.items()
)


def number_advice_text(advice: str) -> str:
    """The catalog's advice on a number (keep, remove, opted_out) as a sentence."""
    return NUMBER_ADVICE_TEXT[ErrorCode.NumberAdvice(advice)]


# Whose code wins when a bare code exists at several providers.
PROVIDER_ORDER = ["twilio", "telnyx", "bandwidth", "smpp", "carrier", "portal"]
PROVIDERS = sorted({*PROVIDER_ORDER, *(key for key in WORDS if key)})


@dataclass
class Explanation:
    term: str
    kind: str  # "status" or "error"
    status: Status
    error: ErrorCode | None = None
    also: list[ErrorCode] = field(default_factory=list)

    @property
    def bucket(self) -> Bucket:
        return bucket_of(self.status)

    def as_dict(self) -> dict:
        data = {
            "term": self.term,
            "kind": self.kind,
            "status": self.status.value,
            "bucket": self.bucket.value,
            "final": is_final(self.status),
        }
        if self.kind == "status":
            data["meaning"] = STATUS_MEANING[self.status]
        if self.error is not None:
            data |= {
                "provider": self.error.provider,
                "code": self.error.code,
                "title": self.error.title,
                "meaning": self.error.meaning,
                "resolution": self.error.resolution,
                "category": self.error.category,
                "temporary": self.error.temporary,
                "billable": self.error.billable,
                "number_advice": self.error.number_advice,
                "known": self.error.known,
                "aliases": self.error.aliases,
            }
        if self.also:
            data["also"] = [f"{entry.provider} {entry.code}" for entry in self.also]
        return data

    def as_text(self) -> str:
        status_line = (
            f"{self.status.value} ({self.bucket.label} bucket; "
            f"{'final' if is_final(self.status) else 'not final: a receipt can still move it'})"
        )
        if self.error is None:
            return "\n".join(
                [
                    f'"{self.term}" is a message status.',
                    f"  Status:      {status_line}",
                    f"  Meaning:     {STATUS_MEANING[self.status]}",
                    f"  Bucket:      {self.bucket.label}: {BUCKET_MEANING[self.bucket]}",
                ]
            )
        entry = self.error
        lines = [
            f"{_source(entry)}: {entry.title}",
            f"  Meaning:     {entry.meaning}",
            f"  What to do:  {entry.resolution}",
            f"  Category:    {entry.get_category_display()} "
            f"({'temporary: may succeed later' if entry.temporary else 'permanent'})",
            f"  Billed:      {'yes' if entry.billable else 'no'}",
            f"  The number:  {number_advice_text(entry.number_advice)}",
            f"  Status:      {status_line}",
        ]
        if entry.aliases:
            lines.append(f"  Also called: {', '.join(entry.aliases)}")
        if self.also:
            others = ", ".join(f"{other.provider} {other.code}" for other in self.also)
            lines.append(f"  Same code at: {others} (use --provider to choose)")
        return "\n".join(lines)


def _source(entry: ErrorCode) -> str:
    if entry.provider == "carrier":
        return "Reported by the phone company"
    if entry.provider == "portal":
        return "Decided by the portal"
    return f"{entry.provider.title()} error {entry.code}"


def _by_provider_order(entry: ErrorCode) -> int:
    return (
        PROVIDER_ORDER.index(entry.provider) if entry.provider in PROVIDER_ORDER else 99
    )


def _error_explanation(term: str, entries: list[ErrorCode]) -> Explanation:
    entries = sorted(entries, key=_by_provider_order)
    first = entries[0]
    return Explanation(term, "error", Status(first.status), first, entries[1:])


@functools.cache
def catalog_entries() -> tuple[ErrorCode, ...]:
    """Every entry of errors.csv as an unsaved ErrorCode, read once per process."""
    return tuple(ErrorCode(known=True, **row) for row in catalog_rows())


def explain(term: str, *, provider: str | None = None) -> Explanation:
    """Explain a term: a provider code first, then a status word, then an error title or alias.

    Unknown terms still get an answer ("Unknown error 12345 from twilio").
    """
    text = term.strip()
    folded = text.casefold()
    in_scope = [
        entry for entry in catalog_entries() if provider in (None, entry.provider)
    ]

    by_code = [entry for entry in in_scope if entry.code.casefold() == folded]
    if by_code:
        return _error_explanation(text, by_code)

    status = word_status(text, provider)
    if status is not None:
        return Explanation(text, "status", status)

    by_name = [
        entry
        for entry in in_scope
        if folded == entry.title.casefold()
        or folded in (alias.casefold() for alias in entry.aliases)
    ]
    if by_name:
        return _error_explanation(text, by_name)

    source = provider or "an unknown source"
    unknown = ErrorCode(
        provider=provider or "",
        code=text,
        title=f"Unknown error {text} from {source}",
        meaning=f'"{text}" is not a status or error the portal knows yet.',
        resolution="Check the spelling or the provider. If a message shows it, "
        "contact support with the message so it can be explained.",
        category=ErrorCode.Category.UNKNOWN,
        temporary=False,
        billable=False,
        number_advice=ErrorCode.NumberAdvice.KEEP,
        status=Status.UNKNOWN,
        known=False,
    )
    return Explanation(text, "error", Status.UNKNOWN, unknown)
