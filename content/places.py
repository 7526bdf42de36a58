"""Where people are: UK postcode districts, towns with aliases, and distances.

Place names are matched exactly first, then fuzzily for typos ("crawly", "halifx").
Fuzzy matching is deliberately tight so ordinary words never turn into places: the
first letter must agree, short words need an exact match, and only one or two
edits are forgiven depending on length.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from rapidfuzz.distance import Levenshtein

from content.models import Town

EARTH_RADIUS_MILES = 3958.8
# One outcode per line, e.g. "BN1", "RH10", "SW1A", "EC1V".
OUTCODE_PATTERN = re.compile(r"^[a-z]{1,2}\d[a-z\d]?$", re.IGNORECASE)
INWARD_PATTERN = re.compile(r"^\d[a-z]{2}$", re.IGNORECASE)
AREA_FOR_OUTCODE_MILES = 12.0


class PlaceKind(StrEnum):
    TOWN = "town"
    OUTCODE = "outcode"
    LOCATION = "location"  # a shared position, e.g. a Telegram location


@dataclass(frozen=True)
class Place:
    key: str  # stable id: outcode ("BN1"), town key ("bognor-regis") or "@lat,lon"
    name: str  # what to say back: "Bognor Regis", "BN1", "your location"
    kind: PlaceKind
    latitude: float
    longitude: float
    area: str | None = None


def haversine_miles(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_MILES * math.asin(min(1.0, math.sqrt(a)))


def normalise_name(text: str) -> str:
    """Lower case, '&' as 'and', punctuation as spaces: "Brighton & Hove" -> "brighton and hove"."""
    text = text.casefold().replace("&", " and ")
    return " ".join(re.findall(r"[a-z0-9]+", text))


def town_key(name: str) -> str:
    return normalise_name(name).replace(" ", "-")


def max_typos(word: str) -> int:
    """How many edits a typed word may be from a known word and still count."""
    if len(word) <= 3:
        return 0
    if len(word) <= 5:
        return 1
    return 2


def close_enough(typed: str, known: str) -> bool:
    """Tight typo check shared by place and keyword matching."""
    if typed == known:
        return True
    if not typed or typed[0] != known[0] or abs(len(typed) - len(known)) > 2:
        return False
    allowed = min(max_typos(typed), max_typos(known))
    return Levenshtein.distance(typed, known, score_cutoff=allowed) <= allowed


def location_place(latitude: float, longitude: float) -> Place:
    return Place(
        f"@{latitude:.4f},{longitude:.4f}", "your location", PlaceKind.LOCATION, latitude, longitude
    )


class Gazetteer:
    """All the places people can name, with lookups by name, alias or outcode."""

    def __init__(self, outcodes: Mapping[str, tuple[float, float]], towns: Iterable[Town]) -> None:
        self._towns = tuple(towns)
        town_places = [
            Place(town_key(t.name), t.name, PlaceKind.TOWN, t.latitude, t.longitude, t.area)
            for t in self._towns
        ]
        self.towns: Mapping[str, Place] = MappingProxyType({p.key: p for p in town_places})
        names: dict[str, Place] = {}
        for town, place in zip(self._towns, town_places, strict=True):
            for name in (town.name, *town.aliases):
                names[normalise_name(name)] = place
        self._by_name = MappingProxyType(names)
        self.outcodes: Mapping[str, Place] = MappingProxyType(
            {
                code: Place(code, code, PlaceKind.OUTCODE, lat, lon, self._area_near(lat, lon))
                for code, (lat, lon) in outcodes.items()
            }
        )
        self.longest_name_words = max((len(n.split()) for n in names), default=1)
        # Every area the towns belong to, by name ("West Sussex").
        self.areas: tuple[str, ...] = tuple(sorted({town.area for town in self._towns}))

    def _area_near(self, latitude: float, longitude: float) -> str | None:
        best: tuple[float, str] | None = None
        for town in self._towns:
            if abs(town.latitude - latitude) > AREA_FOR_OUTCODE_MILES / 69:  # 69 mi per degree
                continue
            miles = haversine_miles(latitude, longitude, town.latitude, town.longitude)
            if miles <= AREA_FOR_OUTCODE_MILES and (best is None or miles < best[0]):
                best = (miles, town.area)
        return best[1] if best else None

    def outcode(self, text: str) -> Place | None:
        return self.outcodes.get(text.strip().upper())

    def town(self, text: str, fuzzy: bool = True) -> Place | None:
        """A town by name or alias; with ``fuzzy``, forgive a small typo."""
        wanted = normalise_name(text)
        if wanted in self._by_name:
            return self._by_name[wanted]
        if not fuzzy:
            return None
        matches = {place for name, place in self._by_name.items() if close_enough(wanted, name)}
        # Two different towns equally close means we can't tell: don't guess.
        return matches.pop() if len(matches) == 1 else None

    def place(self, text: str) -> Place | None:
        """A postcode district ("RH10"), a full postcode's district ("RH10 1AB") or a
        town (a small typo forgiven)."""
        words = text.split()
        if len(words) == 2 and INWARD_PATTERN.match(words[1]) and OUTCODE_PATTERN.match(words[0]):
            return self.outcode(words[0])
        return self.outcode(text) or self.town(text)

    def area(self, text: str) -> str | None:
        """The area ``text`` names: the area itself ("west sussex"), or the area of a
        town or postcode in it ("Crawley", "RH10")."""
        wanted = normalise_name(text)
        named = next((a for a in self.areas if normalise_name(a) == wanted), None)
        if named is not None:
            return named
        found = self.place(text)
        return found.area if found else None

    def by_key(self, key: str) -> Place | None:
        """Undo :attr:`Place.key` (used in Telegram callback data)."""
        if key.startswith("@"):
            lat, lon = key[1:].split(",")
            return location_place(float(lat), float(lon))
        return self.towns.get(key) or self.outcodes.get(key)
