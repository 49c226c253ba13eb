"""Quiet hours: when a recipient may be texted, counted in the recipient's own time zones.

The window is the account's (8:00-21:00 unless it narrowed it), narrowed
again where the number's state asks for less (catalog/quiet_hours.csv). The
zones are the lead's own when it names one, else every zone the number's area
code and exchange cover (phonenumbers' data); a number that spans zones may
only be texted while the window is open in all of them.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_zones
from phonenumbers.tzdata import TIMEZONE_DATA

PROFILES_PATH = Path(__file__).with_name("catalog") / "quiet_hours.csv"
UNKNOWN_ZONE = "Etc/Unknown"  # what phonenumbers answers for a number it cannot place
SUNDAY = 6
# A window opens at most a week after any moment: look that far for a release.
LOOKAHEAD_DAYS = 8

Window = tuple[time, time]  # local start (included) and end (excluded)


@dataclass(frozen=True)
class StateRule:
    """A state's stricter window, Sunday's apart where the law sets one."""

    place: str
    weekdays: Window
    sunday: Window
    law: str


@cache
def state_rules() -> dict[tuple[str, str], StateRule]:
    """The state rules by (country, place as phonenumbers' geocoder names it)."""
    rules = {}
    with PROFILES_PATH.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            weekdays = (
                time.fromisoformat(row["start"]),
                time.fromisoformat(row["end"]),
            )
            sunday = (
                time.fromisoformat(row["sunday_start"] or row["start"]),
                time.fromisoformat(row["sunday_end"] or row["end"]),
            )
            rules[(row["country"], row["place"])] = StateRule(
                row["place"], weekdays, sunday, row["law"]
            )
    return rules


@dataclass(frozen=True)
class NumberFacts:
    """What a number's prefix says: its time zones (none when unknown) and its state's rule."""

    zones: tuple[str, ...]
    rule: StateRule | None


def _prefix_lengths() -> dict[str, int]:
    """Per first digit of a country code, the longest prefix phonenumbers places in zones.

    Country codes are prefix-free, so numbers that share this many leading
    characters share their zones: the claim looks each prefix up once.
    """
    lengths: dict[str, int] = {}
    for prefix in TIMEZONE_DATA:
        lengths[prefix[0]] = max(lengths.get(prefix[0], 0), len(prefix))
    return lengths


_PREFIX_LENGTHS = _prefix_lengths()
_facts: dict[str, NumberFacts] = {}


def number_prefix(phone: str) -> str:
    """The leading part of an E.164 number that decides its zones and state."""
    return phone[: 1 + _PREFIX_LENGTHS.get(phone[1:2], 9)]


def number_facts(phone: str) -> NumberFacts:
    """The number's zones and state rule, looked up once per prefix for the process."""
    prefix = number_prefix(phone)
    facts = _facts.get(prefix)
    if facts is None:
        facts = _facts[prefix] = _number_facts_read(phone)
    return facts


def _number_facts_read(phone: str) -> NumberFacts:
    try:
        number = phonenumbers.parse(phone)
    except phonenumbers.NumberParseException:
        return NumberFacts((), None)
    zones = tuple(
        zone
        for zone in phone_zones.time_zones_for_number(number)
        if zone != UNKNOWN_ZONE
    )
    country = phonenumbers.region_code_for_number(number) or ""
    place = geocoder.description_for_number(number, "en")
    return NumberFacts(zones, state_rules().get((country, place)))


def _narrowed(window: Window, rule: Window | None) -> Window:
    """The account's window inside the state's; the state's alone if they do not meet."""
    if rule is None:
        return window
    start, end = max(window[0], rule[0]), min(window[1], rule[1])
    return (start, end) if start < end else rule


@dataclass(frozen=True)
class SendingHours:
    """When one recipient may be texted: a window open in every one of its zones."""

    zones: tuple[ZoneInfo, ...]
    weekdays: Window
    sunday: Window

    def window_on(self, day: date) -> Window:
        return self.sunday if day.weekday() == SUNDAY else self.weekdays

    def is_open(self, at: datetime) -> bool:
        for zone in self.zones:
            local = at.astimezone(zone)
            start, end = self.window_on(local.date())
            if not start <= local.time() < end:
                return False
        return True

    def release_at(self, at: datetime) -> datetime:
        """The first moment from `at` on when the window is open in every zone.

        That moment is one zone's opening time (where the windows of all of
        them overlap, the overlap starts when the last of them opens). If the
        zones' windows never overlap, the first zone's own opening is taken.
        """
        if self.is_open(at):
            return at
        openings = sorted(self._openings(at, self.zones))
        for opening in openings:
            if self.is_open(opening):
                return opening
        return min(self._openings(at, self.zones[:1]))

    def _openings(self, at: datetime, zones: Iterable[ZoneInfo]) -> Iterable[datetime]:
        for zone in zones:
            today = at.astimezone(zone).date()
            for offset in range(-1, LOOKAHEAD_DAYS):
                day = today + timedelta(days=offset)
                # Through UTC and back: a start in a DST gap moves to a real instant.
                opening = datetime.combine(day, self.window_on(day)[0], tzinfo=zone)
                opening = opening.astimezone(ZoneInfo("UTC")).astimezone(at.tzinfo)
                if opening > at:
                    yield opening


def sending_hours(
    *, window: Window, phone: str, recipient_zone: str, fallback_zone: str
) -> SendingHours:
    """The recipient's sending hours under an account's window.

    The zones: the lead's own (recipient_zone), else the number's, else the
    account's (fallback_zone) for a number no data places.
    """
    facts = number_facts(phone)
    names = (recipient_zone,) if recipient_zone else facts.zones or (fallback_zone,)
    rule = facts.rule
    return SendingHours(
        zones=tuple(_zone(name) for name in names),
        weekdays=_narrowed(window, rule.weekdays if rule else None),
        sunday=_narrowed(window, rule.sunday if rule else None),
    )


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)
