"""What "now", "tonight", "Sunday" mean as spans of real time, DST included.

Days and wall-clock times are those of the meeting's own time zone. A window is
computed per zone in absolute time, then cut into per-date minute ranges so the
index can binary-search start minutes. On a date whose UTC offset changes (the
clocks going forward or back) minutes don't map linearly to time, so those dates
are marked for an exact per-meeting check instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

NOW_LOOKBACK = timedelta(minutes=30)  # a meeting that started recently can still be joined
NOW_LOOKAHEAD = timedelta(minutes=60)
TONIGHT_ENDS = time(3, 0)
ANY_TIME_SPAN = timedelta(days=7)
MINUTES_PER_DAY = 24 * 60


class WhenKind(StrEnum):
    NOW = "now"
    TONIGHT = "tonight"
    TODAY = "today"
    TOMORROW = "tomorrow"
    DAY = "day"  # a named weekday


@dataclass(frozen=True)
class When:
    kind: WhenKind
    weekday: int | None = None  # TSML day (0 = Sunday) when kind is DAY


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def tsml_weekday(day: date) -> int:
    """Python's Monday=0 to TSML's Sunday=0."""
    return (day.weekday() + 1) % 7


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz)


def window_for(when: When | None, now: datetime, tz: ZoneInfo) -> Window:
    """The span of time a query means, for meetings in zone ``tz``.

    No time word means "from now, for a week". ``tonight`` runs from now to 03:00,
    so at 01:00 it still means the rest of this night. A weekday means that whole
    day (the coming one), or the rest of today if it is today.
    """
    local = now.astimezone(tz)
    today = local.date()
    if when is None:
        return Window(now, now + ANY_TIME_SPAN)
    if when.kind is WhenKind.NOW:
        return Window(now - NOW_LOOKBACK, now + NOW_LOOKAHEAD)
    if when.kind is WhenKind.TONIGHT:
        ends_on = today if local.time() < TONIGHT_ENDS else today + timedelta(days=1)
        return Window(now, datetime.combine(ends_on, TONIGHT_ENDS, tz))
    if when.kind is WhenKind.TOMORROW:
        offset = 1
    elif when.kind is WhenKind.DAY and when.weekday is not None:
        offset = (when.weekday - tsml_weekday(today)) % 7
    else:  # today
        offset = 0
    day = today + timedelta(days=offset)
    start = now if offset == 0 else local_midnight(day, tz)
    return Window(start, local_midnight(day + timedelta(days=1), tz))


@dataclass(frozen=True)
class DayRange:
    """Start minutes ``low <= m < high`` on local ``day`` that fall inside a window.

    ``midnight`` is the POSIX time of the day's local midnight, or None on a day
    the clocks change (then every minute must be checked with :func:`exact_time`).
    """

    day: date
    weekday: int
    low: int
    high: int
    midnight: float | None


def day_ranges(window: Window, tz: ZoneInfo) -> list[DayRange]:
    start_ts, end_ts = window.start.timestamp(), window.end.timestamp()
    day = window.start.astimezone(tz).date()
    last = window.end.astimezone(tz).date()
    ranges = []
    while day <= last:
        midnight = local_midnight(day, tz)
        next_midnight = local_midnight(day + timedelta(days=1), tz)
        if midnight.utcoffset() == next_midnight.utcoffset():
            base = midnight.timestamp()
            low = max(0, math.ceil((start_ts - base) / 60))
            high = min(MINUTES_PER_DAY, math.ceil((end_ts - base) / 60))
            if low < high:
                ranges.append(DayRange(day, tsml_weekday(day), low, high, base))
        else:
            ranges.append(DayRange(day, tsml_weekday(day), 0, MINUTES_PER_DAY, None))
        day += timedelta(days=1)
    return ranges


def exact_time(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Wall-clock ``minute`` on ``day``; a time skipped by the clocks going forward
    reads as the hour before the change (fold=0), as zoneinfo does."""
    return datetime.combine(day, time(minute // 60, minute % 60), tz)


def occurrence(window: Window, span: DayRange, minute: int, tz: ZoneInfo) -> float | None:
    """POSIX time of a start minute inside ``span``, or None if outside the window."""
    if span.midnight is not None:
        return span.midnight + minute * 60
    moment = exact_time(span.day, minute, tz)
    return moment.timestamp() if window.contains(moment) else None
