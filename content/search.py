"""Answer a :class:`LookupQuery` from a :class:`RecoveryNetwork`.

Order: nearest first (from the named town, outcode or shared location), then
soonest, then name, then slug, so answers are deterministic. Distances are rounded
to a tenth of a mile first, so meetings at one venue sort by time. Online meetings
have no distance: they follow the in-person ones. When nothing matches, the
result says what was understood and offers the nearest alternative instead.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from content import wording
from content.index import FELLOWSHIP_BITS, MINUTES_PER_DAY, Bucket, cells_by_distance
from content.meeting_types import Feature, Fellowship
from content.models import CrisisCard, Service, ServiceKind, zone
from content.network import Entry, RecoveryNetwork
from content.places import EARTH_RADIUS_MILES, Place, haversine_miles, location_place
from content.query import LookupKind, LookupQuery
from content.timewindows import DayRange, When, Window, day_ranges, exact_time, window_for

DEFAULT_RADIUS_MILES = 15.0
WIDER_RADIUS_MILES = 30.0
MAX_ITEMS = 30  # enough pages for anyone
# ``count`` is exact up to this; a lookup that finds more stops counting once the
# nearest MAX_ITEMS are certain, so a city centre doesn't cost thousands of checks.
COUNT_CAP = 100


@dataclass(frozen=True)
class Hit:
    entry: Entry
    ref: str  # for callback data: RecoveryNetwork.find(ref)
    distance: float | None  # miles; None for online
    starts: datetime | None  # local time the meeting starts / the service next opens
    closes: datetime | None = None  # services: when that opening ends
    open_now: bool = False


@dataclass(frozen=True)
class LookupResult:
    query: LookupQuery
    where: Place | None
    understood: str  # what we took the text to mean, in plain words
    headline: str
    items: tuple[Hit, ...]  # exact matches, or alternatives when count == 0
    count: int  # number of exact matches, up to COUNT_CAP
    suggestion: str | None  # printed before the list (why these, what else to try)
    tip: str | None  # printed after the list when there is room
    crisis: CrisisCard

    @property
    def kind(self) -> LookupKind:
        return self.query.kind

    @property
    def place(self) -> str | None:
        """Normalised place name for coordinator logs (never the person's location)."""
        if self.where is None:
            return None
        return "shared location" if self.where.key.startswith("@") else self.where.name


@dataclass(frozen=True)
class _Answer:
    understood: str
    items: tuple[Hit, ...]
    count: int
    suggestion: str | None = None
    tip: str | None = None
    headline: str | None = None  # overrides the usual "X:" / "No X." line


# ---- meetings ---------------------------------------------------------------


@dataclass(frozen=True)
class _MeetingFilter:
    fellowship_bits: int  # FELLOWSHIP_BITS of the fellowships asked for
    features: int  # Feature bits every match must have
    when: When | None


# meeting position -> (start POSIX time, distance in miles or None)
_Found = dict[int, tuple[float, float | None]]


@dataclass(frozen=True)
class _Origin:
    """A place prepared for the haversine test in :func:`_collect`."""

    lat_rad: float
    lon_rad: float
    cos_lat: float
    a_max: float  # the haversine term at the radius: compare without sqrt/asin

    @classmethod
    def of(cls, place: Place, radius: float) -> _Origin:
        lat = math.radians(place.latitude)
        a_max = math.sin(radius / (2 * EARTH_RADIUS_MILES)) ** 2
        return cls(lat, math.radians(place.longitude), math.cos(lat), a_max)


def _collect(
    bucket: Bucket,
    flt: _MeetingFilter,
    window: Window,
    spans: list[DayRange],
    tz: ZoneInfo,
    origin: _Origin | None,
    found: dict[int, tuple[float, float]],
) -> None:
    """Add the soonest matching start (and haversine term) of each meeting to ``found``."""
    wanted, mask = flt.fellowship_bits, flt.features
    for span in spans:
        week_start = span.weekday * MINUTES_PER_DAY
        low = bisect_left(bucket.week_minutes, week_start + span.low)
        high = bisect_left(bucket.week_minutes, week_start + span.high, low)
        for week_minute, lat, lon, cos_lat, meeting, features, fellowship in bucket.slots[low:high]:
            if not fellowship & wanted or features & mask != mask:
                continue
            a = 0.0
            if origin is not None:
                a = (
                    math.sin((lat - origin.lat_rad) / 2) ** 2
                    + origin.cos_lat * cos_lat * math.sin((lon - origin.lon_rad) / 2) ** 2
                )
                if a > origin.a_max:
                    continue
            minute = week_minute - week_start
            if span.midnight is not None:
                ts = span.midnight + minute * 60
            else:
                moment = exact_time(span.day, minute, tz)
                if not window.contains(moment):
                    continue
                ts = moment.timestamp()
            previous = found.get(meeting)
            if previous is None or ts < previous[0]:
                found[meeting] = (ts, a)


def _miles(a: float) -> float:
    return 2 * EARTH_RADIUS_MILES * math.asin(math.sqrt(a))


def _nearest_are_settled(found: dict[int, tuple[float, float]], next_gap: float) -> bool:
    """True once enough matches are counted and no unread cell can beat the nearest
    :data:`MAX_ITEMS` (distances are compared as shown: rounded to 0.1 mile)."""
    if len(found) < COUNT_CAP:
        return False
    kth = heapq.nsmallest(MAX_ITEMS, (a for _, a in found.values()))[-1]
    return round(_miles(kth), 1) < math.floor(next_gap * 10) / 10


def _in_person(
    network: RecoveryNetwork,
    flt: _MeetingFilter,
    now: datetime,
    place: Place,
    radius: float,
    nearest_first: bool = True,
) -> _Found:
    """Meetings within ``radius``; reads cells nearest first and, when results are
    ordered by distance, stops once the nearest ones are certain (see COUNT_CAP)."""
    index = network.index
    origin = _Origin.of(place, radius)
    cells = cells_by_distance(place.latitude, place.longitude, radius)
    found: dict[int, tuple[float, float]] = {}
    for zone_name in sorted(index.in_person_zones):
        tz = zone(zone_name)
        window = window_for(flt.when, now, tz)
        spans = day_ranges(window, tz)
        for i, (_, cell) in enumerate(cells):
            bucket = index.in_person(zone_name, cell)
            if bucket:
                _collect(bucket, flt, window, spans, tz, origin, found)
                next_gap = cells[i + 1][0] if i + 1 < len(cells) else math.inf
                if nearest_first and _nearest_are_settled(found, next_gap):
                    break
    return {m: (ts, _miles(a)) for m, (ts, a) in found.items()}


def _online(network: RecoveryNetwork, flt: _MeetingFilter, now: datetime) -> _Found:
    index = network.index
    found: dict[int, tuple[float, float]] = {}
    for zone_name in sorted(index.online_zones):
        tz = zone(zone_name)
        window = window_for(flt.when, now, tz)
        bucket = index.online(zone_name)
        if bucket:
            _collect(bucket, flt, window, day_ranges(window, tz), tz, None, found)
    return {m: (ts, None) for m, (ts, _) in found.items()}


def _meeting_hits(
    network: RecoveryNetwork, found: _Found, soonest: bool = False
) -> tuple[Hit, ...]:
    """The first :data:`MAX_ITEMS` by distance (online last) then time, or by time.

    Sort keys are all numbers (name and slug order is precomputed as a rank), which
    keeps sorting thousands of candidates cheap.
    """
    rank = network.index.name_rank
    keys: list[tuple[float, float, float, int]]
    if soonest:
        keys = [
            (ts, math.inf if miles is None else round(miles, 1), 0.0, rank[m])
            for m, (ts, miles) in found.items()
        ]
    else:
        keys = [
            (1.0 if miles is None else 0.0, 0.0 if miles is None else round(miles, 1), ts, rank[m])
            for m, (ts, miles) in found.items()
        ]
    by_rank = {rank[m]: m for m in found}
    meetings = network.meetings
    hits = []
    for key in heapq.nsmallest(MAX_ITEMS, keys):
        position = by_rank[key[3]]
        ts, miles = found[position]
        meeting = meetings[position]
        starts = datetime.fromtimestamp(ts, zone(meeting.timezone))
        hits.append(Hit(meeting, network.ref_for(meeting), miles, starts))
    return tuple(hits)


def _near_and_online(
    network: RecoveryNetwork,
    flt: _MeetingFilter,
    now: datetime,
    place: Place | None,
    radius: float,
    soonest: bool = False,
) -> tuple[_Found, _Found]:
    """In-person matches near ``place``, and online ones (not already in-person).

    In distance order online meetings come after all in-person ones, so when the
    in-person ones already fill the count they are not even looked up.
    """
    near = _in_person(network, flt, now, place, radius, not soonest) if place else {}
    if len(near) >= COUNT_CAP and not soonest:
        return near, {}
    online = {m: v for m, v in _online(network, flt, now).items() if m not in near}
    return near, online


def _meetings_answer(
    network: RecoveryNetwork, query: LookupQuery, place: Place | None, now: datetime
) -> _Answer:
    flt = _MeetingFilter(
        sum(FELLOWSHIP_BITS[f] for f in query.fellowships or Fellowship),
        int(query.features & ~Feature.ONLINE),
        query.when,
    )
    any_time = replace(flt, when=None)
    online_only = query.online or place is None
    understood = wording.describe_meetings(
        query.fellowships, query.features, query.when, None if online_only else place, online_only
    )

    if place is None and query.place_text:
        understood = wording.describe_meetings(
            query.fellowships, query.features, query.when, None, False
        )
        online = _online(network, flt, now) or _online(network, any_time, now)
        return _Answer(
            understood,
            _meeting_hits(network, online, soonest=True),
            0,
            suggestion=wording.ONLINE_INSTEAD if online else None,
            headline=wording.UNKNOWN_PLACE.format(text=query.place_text),
        )

    if online_only:
        found = _online(network, flt, now)
        tip = None if query.online else wording.ADD_A_PLACE
        if found:
            count = min(len(found), COUNT_CAP)
            return _Answer(understood, _meeting_hits(network, found, True), count, tip=tip)
        later = _online(network, any_time, now)
        suggestion = wording.NEXT_ONES if later else wording.NOTHING_FOUND
        return _Answer(understood, _meeting_hits(network, later, True), 0, suggestion, tip)

    assert place is not None
    near, online = _near_and_online(network, flt, now, place, DEFAULT_RADIUS_MILES)
    if near or online:
        only_online = None if near else wording.ONLY_ONLINE.format(place=place.name)
        hits = _meeting_hits(network, near | online)
        return _Answer(understood, hits, min(len(near) + len(online), COUNT_CAP), only_online)

    attempts: list[tuple[_MeetingFilter, float, str, bool]] = []
    if flt.when is not None:
        attempts.append((any_time, DEFAULT_RADIUS_MILES, wording.NEXT_ONES, True))
    further = wording.FURTHER_AWAY.format(miles=round(DEFAULT_RADIUS_MILES))
    attempts.append((flt, WIDER_RADIUS_MILES, further, False))
    if flt.when is not None:
        attempts.append((any_time, WIDER_RADIUS_MILES, further, False))
    for attempt, radius, suggestion, soonest in attempts:
        near, online = _near_and_online(network, attempt, now, place, radius, soonest)
        if near or online:
            return _Answer(
                understood, _meeting_hits(network, near | online, soonest), 0, suggestion
            )
    return _Answer(understood, (), 0, wording.NOTHING_FOUND)


# ---- services ---------------------------------------------------------------


def _opening_in(service: Service, window: Window) -> tuple[datetime, datetime] | None:
    """The service's first opening (start, end) that overlaps ``window``, if any."""
    tz = zone(service.timezone)
    first = window.start.astimezone(tz).date() - timedelta(days=1)  # overnight openings
    last = window.end.astimezone(tz).date()
    day = first
    while day <= last:
        weekday = (day.weekday() + 1) % 7
        for start_minute, end_minute in service.opening[weekday]:
            start = exact_time(day, 0, tz) + timedelta(minutes=start_minute)
            end = exact_time(day, 0, tz) + timedelta(minutes=end_minute)
            if start < window.end and end > window.start:
                return start, end
        day += timedelta(days=1)
    return None


def _service_hits(
    network: RecoveryNetwork,
    kinds: frozenset[ServiceKind],
    when: When | None,
    now: datetime,
    place: Place,
    radius: float,
) -> tuple[Hit, ...]:
    found: list[tuple[tuple[float, float, str, str], Hit]] = []
    for service in network.services:
        if kinds and service.kind not in kinds:
            continue
        miles = haversine_miles(
            place.latitude, place.longitude, service.latitude, service.longitude
        )
        if miles > radius:
            continue
        opening = _opening_in(service, window_for(when, now, zone(service.timezone)))
        if opening is None and when is not None:
            continue
        starts, closes = opening if opening else (None, None)
        hit = Hit(
            entry=service,
            ref=network.ref_for(service),
            distance=miles,
            starts=starts,
            closes=closes,
            open_now=bool(starts and closes and starts <= now < closes),
        )
        ts = starts.timestamp() if starts else math.inf
        found.append(((round(miles, 1), ts, service.name, service.slug), hit))
    found.sort(key=lambda pair: pair[0])
    return tuple(hit for _, hit in found[:MAX_ITEMS])


def _services_answer(
    network: RecoveryNetwork, query: LookupQuery, place: Place | None, now: datetime
) -> _Answer:
    kinds, when = query.service_kinds, query.when
    understood = wording.describe_services(kinds, when, place)
    if place is None and query.place_text:
        return _Answer(
            understood, (), 0, headline=wording.UNKNOWN_PLACE.format(text=query.place_text)
        )
    if place is None:
        example = f"{min(kinds, default=ServiceKind.FOOD)} Crawley"
        return _Answer(understood, (), 0, wording.WHICH_TOWN.format(example=example))
    hits = _service_hits(network, kinds, when, now, place, DEFAULT_RADIUS_MILES)
    if hits:
        return _Answer(understood, hits, len(hits))
    attempts: list[tuple[When | None, float, str]] = []
    if when is not None:
        attempts.append((None, DEFAULT_RADIUS_MILES, wording.NEXT_ONES))
    further = wording.FURTHER_AWAY.format(miles=round(DEFAULT_RADIUS_MILES))
    attempts.append((None, WIDER_RADIUS_MILES, further))
    for relaxed_when, radius, suggestion in attempts:
        hits = _service_hits(network, kinds, relaxed_when, now, place, radius)
        if hits:
            return _Answer(understood, hits, 0, suggestion)
    return _Answer(understood, (), 0, wording.NOTHING_FOUND_SERVICES)


# ---- entry point ------------------------------------------------------------


def search(
    network: RecoveryNetwork,
    query: LookupQuery,
    now: datetime,
    location: tuple[float, float] | None = None,
) -> LookupResult:
    """Answer ``query`` at time ``now`` (aware). ``location`` is a shared position
    (e.g. Telegram), used when the text names no place."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    place = query.place
    if place is None and location is not None and not query.place_text:
        place = location_place(*location)
    crisis = network.crisis_card(place)
    if query.kind is LookupKind.CRISIS:
        understood = "crisis numbers"
        heading = wording.CRISIS_HEADING.format(region=crisis.region)
        return LookupResult(query, place, understood, heading, (), 0, None, None, crisis)
    answer_for = _meetings_answer if query.kind is LookupKind.MEETINGS else _services_answer
    answer = answer_for(network, query, place, now)
    heading = answer.headline or wording.headline(answer.understood, found=answer.count > 0)
    return LookupResult(
        query,
        place,
        answer.understood,
        heading,
        answer.items,
        answer.count,
        answer.suggestion,
        answer.tip,
        crisis,
    )


def pick(result: LookupResult, number: int) -> Hit | None:
    """The item a person means by replying ``number`` (1-based, across pages)."""
    return result.items[number - 1] if 1 <= number <= len(result.items) else None
