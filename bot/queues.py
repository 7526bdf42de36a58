"""Buddy queues: their configuration and opening hours (in the queue's own time zone,
across midnight and both clock changes)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


class Escalation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    renotify_after_seconds: int = Field(180, ge=10)
    page_after_seconds: int = Field(600, ge=10)
    honest_after_seconds: int = Field(1200, ge=10)
    reassure_every_seconds: int = Field(300, ge=10)


class QueueConfig(BaseModel):
    """One queue. ``hours`` maps a weekday to "HH:MM-HH:MM" (an end before the start
    runs past midnight) or "closed"; days not named use ``default_hours``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9-]{1,24}$")
    timezone: str = "Europe/London"
    default_hours: str = "21:00-07:00"
    hours: dict[str, str] = Field(default_factory=dict)
    sms_numbers: list[str] = Field(default_factory=list)
    telegram_start: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    out_of_hours_reply: str | None = None
    escalation: Escalation = Field(default_factory=Escalation)

    @field_validator("hours")
    @classmethod
    def _days(cls, value: dict[str, str]) -> dict[str, str]:
        for day, span in value.items():
            if day not in DAYS:
                raise ValueError(f"unknown day {day!r}: use {', '.join(DAYS)}")
            _parse_span(span)
        return value

    @field_validator("default_hours")
    @classmethod
    def _span(cls, value: str) -> str:
        _parse_span(value)
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def span_for(self, day: date) -> tuple[time, time] | None:
        return _parse_span(self.hours.get(DAYS[day.weekday()], self.default_hours))

    def shift_starting(self, day: date) -> tuple[datetime, datetime] | None:
        """The opening that starts on local ``day``, as aware datetimes, or None."""
        span = self.span_for(day)
        if span is None:
            return None
        start, end = span
        opens = datetime.combine(day, start, self.zone)
        end_day = day if end > start else day + timedelta(days=1)
        closes = datetime.combine(end_day, end, self.zone)
        return opens, closes

    def is_open(self, now: datetime) -> bool:
        """Open at ``now`` (aware): inside today's opening or yesterday's that ran over."""
        local_day = now.astimezone(self.zone).date()
        for day in (local_day - timedelta(days=1), local_day):
            shift = self.shift_starting(day)
            if shift and shift[0] <= now < shift[1]:
                return True
        return False


def _parse_span(span: str) -> tuple[time, time] | None:
    if span == "closed":
        return None
    match = _SPAN.match(span)
    if not match:
        raise ValueError(f"{span!r} should look like 21:00-07:00 or closed")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{span!r} is not a time of day")
    end = time(0, 0) if h2 == 24 else time(h2, m2)
    return time(h1, m1), end


class BuddyConfig(BaseModel):
    """How conversations behave, for every queue."""

    model_config = ConfigDict(extra="forbid")

    default_capacity: int = Field(2, ge=1, le=10)
    silence_checkin_seconds: int = Field(1800, ge=30)
    silence_close_seconds: int = Field(900, ge=30)
    unanswered_seconds: int = Field(180, ge=30)
    retention_days: int = Field(30, ge=1)
    fair_use_conversations: int = Field(5, ge=1)
    fair_use_hours: int = Field(48, ge=1)
    invite_ttl_hours: int = Field(72, ge=1)
    offer_next_on_free_slot: bool = True
    ready_minutes: int = Field(15, ge=0, le=120)
