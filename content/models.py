"""Validated, immutable content records: meetings, services, crisis cards and towns.

Meetings follow the Meeting Guide / TSML shape (code4recovery spec) plus a
``fellowship`` field; everything else is Night Owl's own schema. Records refuse
unknown fields so a typo in a hand-edited file is caught, not silently dropped.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache, cached_property
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from content.meeting_types import Feature, Fellowship, type_features, type_words

DEFAULT_TIMEZONE = "Europe/London"
WEEKDAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")  # index = TSML day

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def minutes_of(hhmm: str) -> int:
    """Minutes after midnight of a validated "HH:MM"."""
    return int(hhmm[:2]) * 60 + int(hhmm[3:5])


def hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


@cache
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"time {value!r} must be HH:MM, 24-hour (e.g. 19:30)")
    return value


def _as_str(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _days(value: Any) -> tuple[int, ...]:
    """TSML ``day``: one number or a list, 0 = Sunday ... 6 = Saturday."""
    days = value if isinstance(value, list | tuple) else [value]
    for day in days:
        if isinstance(day, bool) or not isinstance(day, int) or not 0 <= day <= 6:
            raise ValueError(f"must be 0 (Sunday) to 6 (Saturday), or a list of those; got {day!r}")
    if not days:
        raise ValueError("needs at least one day (0 = Sunday ... 6 = Saturday)")
    return tuple(sorted(set(days)))


def _as_fellowship(value: Any) -> Any:
    return Fellowship.parse(value) if isinstance(value, str) else value


def _upper_codes(value: Any) -> Any:
    if isinstance(value, list | tuple):
        if all(isinstance(code, str) for code in value):
            return tuple(map(str.upper, value))
        return tuple(str(code).strip().upper() for code in value)
    return value


HHMM = Annotated[str, BeforeValidator(_check_hhmm)]
Slug = Annotated[str, BeforeValidator(_as_str), Field(min_length=1, pattern=r"^\S+$")]
Text = Annotated[str, Field(min_length=1)]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]
FellowshipField = Annotated[Fellowship, BeforeValidator(_as_fellowship)]


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


class Meeting(_Record):
    """A meeting in Meeting Guide shape. ``day`` 0 = Sunday ... 6 = Saturday."""

    name: Text
    slug: Slug
    fellowship: FellowshipField
    day: Annotated[tuple[int, ...], BeforeValidator(_days)]
    time: HHMM
    end_time: HHMM | None = None
    timezone: str = DEFAULT_TIMEZONE
    types: Annotated[tuple[str, ...], BeforeValidator(_upper_codes)] = ()
    location: str | None = None
    location_notes: str | None = None
    formatted_address: str | None = None
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    region: str | None = None
    regions: tuple[str, ...] = ()
    sub_region: str | None = None
    conference_url: str | None = None
    conference_url_notes: str | None = None
    conference_phone: str | None = None
    conference_phone_notes: str | None = None
    notes: str | None = None
    group: str | None = None
    updated: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Europe/London)") from None
        return value

    @field_validator("conference_url")
    @classmethod
    def _web_link(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be a web link starting https://")
        return value

    @model_validator(mode="after")
    def _somewhere_to_go(self) -> Meeting:
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together: give both or neither")
        if not self.is_online and self.latitude is None:
            raise ValueError(
                "an in-person meeting needs latitude and longitude "
                "(or conference_url / conference_phone if it is online)"
            )
        return self

    @property
    def is_online(self) -> bool:
        return bool(self.conference_url or self.conference_phone)

    @property
    def is_in_person(self) -> bool:
        return self.latitude is not None and "TC" not in self.types

    @property
    def start_minute(self) -> int:
        return minutes_of(self.time)

    @property
    def area(self) -> str:
        """The area this meeting is listed under (its region, else its town)."""
        return self.region or (self.regions[0] if self.regions else None) or self.city or "Other"

    @property
    def features(self) -> Feature:
        found = type_features(self.fellowship, self.types)
        return found | Feature.ONLINE if self.is_online else found

    @cached_property
    def type_words(self) -> tuple[str, ...]:
        return type_words(self.fellowship, self.types)

    @property
    def place_label(self) -> str:
        """Short name for where it is: the venue, else the town, else "online"."""
        if self.is_in_person:
            return self.location or self.city or self.formatted_address or "in person"
        return "online"

    @property
    def full_address(self) -> str | None:
        if self.formatted_address:
            return self.formatted_address
        parts = [self.address, self.city, self.postal_code]
        return ", ".join(p for p in parts if p) or None


class ServiceKind(StrEnum):
    TREATMENT = "treatment"
    GP = "gp"
    CAFE = "cafe"
    HUB = "hub"
    HOUSING = "housing"
    FOOD = "food"
    FAMILY = "family"


SERVICE_KIND_WORDS: dict[ServiceKind, str] = {
    ServiceKind.TREATMENT: "drug and alcohol help",
    ServiceKind.GP: "friendly GP clinic",
    ServiceKind.CAFE: "recovery café",
    ServiceKind.HUB: "recovery hub",
    ServiceKind.HOUSING: "housing help",
    ServiceKind.FOOD: "food help",
    ServiceKind.FAMILY: "family support",
}

_RANGE = re.compile(r"^(\d\d:\d\d)-(\d\d:\d\d)$")


def parse_hours(text: str) -> tuple[tuple[int, int], ...]:
    """``"09:00-12:30, 14:00-17:00"`` -> minute ranges; ``"closed"``; ``"24 hours"``.

    A range whose end is earlier than its start runs past midnight
    (``"20:00-08:00"``): its end is stored as minutes past the day's own midnight
    (here 32 * 60) so one range is one opening.
    """
    cleaned = text.strip().casefold()
    if cleaned == "closed":
        return ()
    if cleaned in ("24 hours", "24h", "00:00-24:00"):
        return ((0, 24 * 60),)
    spans: list[tuple[int, int]] = []
    for part in cleaned.split(","):
        match = _RANGE.match(part.strip())
        if not match or not all(_HHMM.match(t) for t in match.groups()):
            raise ValueError(
                f"opening hours {text!r} must look like '09:00-17:00', "
                "'09:00-12:00, 14:00-17:00', 'closed' or '24 hours'"
            )
        start, end = (minutes_of(t) for t in match.groups())
        spans.append((start, end if end > start else end + 24 * 60))
    return tuple(sorted(spans))


def _check_hours(text: str) -> str:
    parse_hours(text)
    return text


DayKey = Literal["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
HoursText = Annotated[str, AfterValidator(_check_hours)]


class Service(_Record):
    """A place that helps: treatment, GP clinic, café, hub, housing, food, family."""

    slug: Slug
    name: Text
    kind: ServiceKind
    area: Text
    town: str | None = None
    address: str | None = None
    postal_code: str | None = None
    latitude: Latitude
    longitude: Longitude
    phone: str | None = None
    website: str | None = None
    hours: dict[DayKey, HoursText] = Field(default_factory=dict)
    timezone: str = DEFAULT_TIMEZONE
    tags: tuple[str, ...] = ()
    note: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return Meeting._known_zone(value)

    @cached_property
    def opening(self) -> tuple[tuple[tuple[int, int], ...], ...]:
        """Minute ranges per TSML weekday (0 = Sunday); missing days are closed."""
        return tuple(parse_hours(self.hours.get(key, "closed")) for key in get_args(DayKey))

    @property
    def full_address(self) -> str | None:
        parts = [self.address, self.town, self.postal_code]
        return ", ".join(p for p in parts if p) or None


class CrisisLine(_Record):
    """One number on the crisis card, e.g. Samaritans: call 116 123, any time."""

    name: Text
    contact: Text  # what to do: "call 116 123", "text SHOUT to 85258"
    hours: Text  # "any time", "9am to 5pm"
    what_for: str | None = None


class CrisisCard(_Record):
    """Numbers for a person in danger. A card without ``areas`` is the default."""

    region: Text
    areas: tuple[str, ...] = ()
    lines: tuple[CrisisLine, ...] = Field(min_length=1)


class Town(_Record):
    """A town or area people name in texts ("Bognor" is an alias of Bognor Regis)."""

    name: Text
    area: Text
    latitude: Latitude
    longitude: Longitude
    aliases: tuple[str, ...] = ()
