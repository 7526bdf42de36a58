"""Local time at the edges: every schedule is computed in the person's zone, stored UTC.

``datetime.combine(..., tzinfo=zone)`` uses ``fold=0``, which is what we want at both
clock changes: a wall time that does not exist (01:30 on the spring-forward day) lands
just after the gap (02:30), and one that happens twice (01:30 in October) means the
first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.store.contacts import Contact

DEFAULT_QUIET = ("22:30", "08:00")


def zone_of(contact: Contact, settings: Settings) -> ZoneInfo:
    return ZoneInfo(contact.timezone) if contact.timezone else settings.zone


def at_local(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time ``at`` on ``day`` in ``zone``."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def hhmm(at: time) -> str:
    return f"{at.hour:02d}:{at.minute:02d}"


@dataclass(frozen=True)
class QuietHours:
    """A nightly window (it may cross midnight); start == end means none."""

    start: time
    end: time

    @classmethod
    def of(cls, start: str | None, end: str | None) -> QuietHours:
        return cls(parse_hhmm(start or DEFAULT_QUIET[0]), parse_hhmm(end or DEFAULT_QUIET[1]))

    def contains(self, at: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= at < self.end
        return at >= self.start or at < self.end

    def release(self, now: datetime, zone: ZoneInfo) -> datetime:
        """The next end of quiet hours after ``now`` (UTC), DST-correct."""
        today = now.astimezone(zone).date()
        for day in (today, today + timedelta(days=1)):
            end = at_local(day, self.end, zone)
            if end > now:
                return end
        raise AssertionError("quiet hours always end within a day")  # pragma: no cover
