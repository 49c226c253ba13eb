"""Phone numbers: read what people type, store E.164 (API, imports and opt-outs)."""

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberType

# Types that can never receive an SMS; FIXED_LINE_OR_MOBILE (all of NANP) stays allowed.
NOT_MOBILE = frozenset({PhoneNumberType.FIXED_LINE})


@dataclass(frozen=True)
class PhoneParse:
    e164: str | None
    reason: str = ""  # empty when the number is usable


def phone_parse(value: str, *, region: str) -> PhoneParse:
    """Read a typed number in the account's region; return E.164 or why it cannot be used."""
    text = (value or "").strip()
    if not text:
        return PhoneParse(None, "missing phone number")
    try:
        number = phonenumbers.parse(text, region or "US")
    except phonenumbers.NumberParseException:
        return PhoneParse(None, "invalid number")
    if not phonenumbers.is_valid_number(number):
        return PhoneParse(None, "invalid number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if phonenumbers.number_type(number) in NOT_MOBILE:
        return PhoneParse(e164, "not a mobile-capable number (landline)")
    return PhoneParse(e164)


def phone_is_valid(e164: str) -> bool:
    """Whether a stored number is one any carrier could route (the fan-out's check)."""
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return False


# What people type for a number: digits, spaces and ( ) + - . /
PHONE_TYPED = re.compile(r"^[\d\s()+\-./]+$")
SEARCH_MIN_DIGITS = 3  # fewer would match most numbers


def phone_search_digits(term: str) -> str | None:
    """The digits to look for in stored E.164 numbers, if the term is a typed number.

    "(202) 555-0021", "202-555-0021", "+1 202 555 0021" and "555-0021" all
    become a run of digits that the stored "+12025550021" contains. A leading
    0 or 00 (a trunk or international prefix) is dropped, as E.164 has neither.
    """
    text = (term or "").strip()
    if not PHONE_TYPED.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits.lstrip("0")) >= 7:
        digits = digits.lstrip("0")
    return digits if len(digits) >= SEARCH_MIN_DIGITS else None
