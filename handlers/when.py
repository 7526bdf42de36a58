"""Reading the date and time out of ``REMIND tue 10:30 keyworker at the Hub``.

The rules people expect in the UK: numeric dates are day first (3/4 is 3 April); a
weekday means its next occurrence after today; a date without a year is this year,
or next year if it is more than a month gone (a date just gone is refused as past);
a bare hour from 1 to 7 is in the afternoon ("remind fri 2 GP" is 14:00), 8 to 12 in
the morning. Date and time may come in either order, with "on" and "at" between.
Whatever follows is what the appointment is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from scheduler.localtime import at_local

WEEKDAYS = {
    name: number
    for number, names in enumerate(
        [
            ("mon", "monday"),
            ("tue", "tues", "tuesday"),
            ("wed", "weds", "wednesday"),
            ("thu", "thur", "thurs", "thursday"),
            ("fri", "friday"),
            ("sat", "saturday"),
            ("sun", "sunday"),
        ]
    )
    for name in names
}
MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
RELATIVE_DAYS = {"today": 0, "tonight": 0, "tomorrow": 1, "tmrw": 1, "tmw": 1, "tomoz": 1}
FILLERS = {"on", "at", "for", "next", "this"}
MAX_WHAT = 100

_NUMERIC_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})(?:[/-](\d{4}|\d{2}))?$")
_DAY = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?(am|pm)?$")
# A month gone is a date for next year; anything more recent was meant as past.
_PAST_WINDOW = timedelta(days=31)


class Refusal(StrEnum):
    UNCLEAR = "unclear"
    PAST = "past"


@dataclass(frozen=True)
class Parsed:
    starts_at: datetime  # UTC
    what: str


def _date_at(tokens: list[str], i: int, today: date) -> tuple[date | None, int] | None:
    """A date starting at ``tokens[i]``: (the date, or None if invalid; tokens used)."""
    word = tokens[i]
    following = tokens[i + 1] if i + 1 < len(tokens) else ""
    if word in RELATIVE_DAYS:
        return today + timedelta(days=RELATIVE_DAYS[word]), 1
    if word in WEEKDAYS:
        return today + timedelta(days=(WEEKDAYS[word] - today.weekday() - 1) % 7 + 1), 1
    if m := _NUMERIC_DATE.match(word):
        year = int(m[3]) + (2000 if m[3] and len(m[3]) == 2 else 0) if m[3] else None
        return _calendar(today, int(m[1]), int(m[2]), year), 1
    if (m := _DAY.match(word)) and following in MONTHS:  # 14th march
        return _calendar(today, int(m[1]), MONTHS[following], None), 2
    if word in MONTHS and (m := _DAY.match(following)):  # march 14th
        return _calendar(today, int(m[1]), MONTHS[word], None), 2
    return None


def _calendar(today: date, day: int, month: int, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year, month, day)
        guess = date(today.year, month, day)
    except ValueError:
        return None
    if today - guess > _PAST_WINDOW:
        try:
            return date(today.year + 1, month, day)
        except ValueError:  # 29 February
            return None
    return guess


def _time_at(tokens: list[str], i: int, afternoon: bool = True) -> tuple[time | None, int] | None:
    """A time starting at ``tokens[i]``: (the time, or None if invalid; tokens used).
    ``afternoon``: a bare 1 to 7 is after noon (appointments), else 24-hour."""
    word = tokens[i]
    if word in ("noon", "midday"):
        return time(12), 1
    m = _TIME.match(word)
    if m is None:
        return None
    used = 1
    suffix = m[3]
    if suffix is None and i + 1 < len(tokens) and tokens[i + 1] in ("am", "pm"):
        suffix, used = tokens[i + 1], 2
    hour, minute = int(m[1]), int(m[2] or 0)
    if suffix:
        if not 1 <= hour <= 12:
            return None, used
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    elif afternoon and 1 <= hour <= 7:
        hour += 12
    if hour > 23 or minute > 59:
        return None, used
    return time(hour, minute), used


def parse_remind(text: str, now: datetime, zone: ZoneInfo) -> Parsed | Refusal:
    """What the words after REMIND mean, at ``now``, for someone in ``zone``."""
    original = text.split()
    tokens = [w.lower().strip(",") for w in original]
    today = now.astimezone(zone).date()
    day: date | None = None
    at: time | None = None
    found_day = found_time = False
    i = rest = 0
    while i < len(tokens):
        if tokens[i] in FILLERS:
            i += 1
            continue
        if not found_day and (got_day := _date_at(tokens, i, today)) is not None:
            (day, used), found_day = got_day, True
        elif not found_time and (got_time := _time_at(tokens, i)) is not None:
            (at, used), found_time = got_time, True
        else:
            break
        i += used
        rest = i
    if not found_time or at is None or (found_day and day is None):
        return Refusal.UNCLEAR
    starts_at = at_local(day or today, at, zone)
    if starts_at <= now:
        return Refusal.PAST
    what = " ".join(original[rest:]).lstrip("-:,. ")[:MAX_WHAT].strip()
    return Parsed(starts_at, what or "appointment")


def parse_clock(text: str) -> time | None:
    """One time of day (``9am``, ``21:30``, ``7.15 pm``), 24-hour when no am/pm."""
    tokens = text.lower().split()
    got = _time_at(tokens, 0, afternoon=False) if tokens else None
    if got is None or got[1] != len(tokens):
        return None
    return got[0]
