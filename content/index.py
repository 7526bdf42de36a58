"""Buckets that let a lookup touch only nearby meetings.

In-person meetings are filed by (time zone, grid cell of about 1.7 miles); online
meetings by time zone. Each bucket keeps its weekly occurrences sorted by minute of
the week, so a day or a "tonight" window is two binary searches, and fellowship and
type filters are bit tests. A query for "AA near BN1 tonight" therefore reads a few
small buckets instead of every meeting.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from content.meeting_types import Fellowship
from content.models import Meeting
from content.places import EARTH_RADIUS_MILES

CELL_LAT_DEGREES = 0.025  # about 1.7 miles: small, so a dense city stops after a few cells
CELL_LON_DEGREES = 0.04  # about 1.7 miles at 51°N
MILES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_MILES / 180
MINUTES_PER_DAY = 24 * 60
FELLOWSHIP_BITS = {fellowship: 1 << i for i, fellowship in enumerate(Fellowship)}

# One weekly occurrence of a meeting, with what filtering needs at hand:
# (minute of the week from Sunday 00:00, latitude and longitude in radians,
# cos(latitude), position in RecoveryNetwork.meetings, feature bits, fellowship bit).
# Radians and cosine are precomputed so the haversine test in the search loop is a
# few multiplications. A plain tuple: 50,000+ of them are made on every load.
Slot = tuple[int, float, float, float, int, int, int]


@dataclass(frozen=True)
class Bucket:
    week_minutes: list[int]
    slots: list[Slot]


def cell_of(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude / CELL_LAT_DEGREES), math.floor(longitude / CELL_LON_DEGREES)


class MeetingIndex:
    def __init__(self, meetings: Sequence[Meeting]) -> None:
        in_person: dict[tuple[str, int, int], list[Slot]] = defaultdict(list)
        online: dict[str, list[Slot]] = defaultdict(list)
        for position, meeting in enumerate(meetings):
            lat, lon = meeting.latitude or 0.0, meeting.longitude or 0.0
            lat_rad = math.radians(lat)
            lon_rad, cos_lat = math.radians(lon), math.cos(lat_rad)
            minute, features = meeting.start_minute, int(meeting.features)
            fellowship = FELLOWSHIP_BITS[meeting.fellowship]
            slots = [
                (
                    day * MINUTES_PER_DAY + minute,
                    lat_rad,
                    lon_rad,
                    cos_lat,
                    position,
                    features,
                    fellowship,
                )
                for day in meeting.day
            ]
            if meeting.is_in_person:
                in_person[(meeting.timezone, *cell_of(lat, lon))] += slots
            if meeting.is_online:
                online[meeting.timezone] += slots
        self._in_person = {key: _bucket(slots) for key, slots in in_person.items()}
        self._online = {key: _bucket(slots) for key, slots in online.items()}
        self.in_person_zones = frozenset(key[0] for key in in_person)
        self.online_zones = frozenset(online)
        # Final tie-break (name, then slug) as one number, so sorting compares numbers.
        order = sorted(range(len(meetings)), key=lambda i: (meetings[i].name, meetings[i].slug))
        self.name_rank = [0] * len(meetings)
        for rank, position in enumerate(order):
            self.name_rank[position] = rank

    def in_person(self, zone: str, cell: tuple[int, int]) -> Bucket | None:
        return self._in_person.get((zone, *cell))

    def online(self, zone: str) -> Bucket | None:
        return self._online.get(zone)


def _bucket(slots: list[Slot]) -> Bucket:
    slots.sort()
    return Bucket([slot[0] for slot in slots], slots)


@lru_cache(maxsize=4096)  # people ask about the same towns and postcodes again and again
def cells_by_distance(
    latitude: float, longitude: float, miles: float
) -> tuple[tuple[float, tuple[int, int]], ...]:
    """Cells that may hold points within ``miles``, nearest first, with the (flat-earth)
    distance from the point to each cell's nearest edge. Callers check exact distance."""
    dlat = miles / MILES_PER_DEGREE_LAT
    cos_lat = max(math.cos(math.radians(latitude)), 0.01)
    dlon = dlat / cos_lat
    low_y, low_x = cell_of(latitude - dlat, longitude - dlon)
    high_y, high_x = cell_of(latitude + dlat, longitude + dlon)
    cells = []
    for y in range(low_y, high_y + 1):
        south, north = y * CELL_LAT_DEGREES, (y + 1) * CELL_LAT_DEGREES
        gap_lat = max(south - latitude, 0.0, latitude - north)
        for x in range(low_x, high_x + 1):
            west, east = x * CELL_LON_DEGREES, (x + 1) * CELL_LON_DEGREES
            gap_lon = max(west - longitude, 0.0, longitude - east) * cos_lat
            gap = MILES_PER_DEGREE_LAT * math.hypot(gap_lat, gap_lon)
            if gap <= miles:
                cells.append((gap, (y, x)))
    cells.sort()
    return tuple(cells)
