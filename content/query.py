"""Turn a text like "SMART tonight crawly" into a :class:`LookupQuery`, or None.

Safety first: a message is a lookup only if *every* word is understood (a lookup
word, a time, a place, or a small filler like "in" or "the") and at least one word
asks for something we list (a fellowship, "meeting", a service, "crisis"). Anything
else, such as "I feel awful tonight", returns None so a person answers it. The one
exception is a place we don't know after "in"/"near" ("AA in Narnia"), which is
kept so the answer can say it didn't know the place.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum
from functools import cache

from content.meeting_types import Feature, Fellowship
from content.models import ServiceKind
from content.places import (
    INWARD_PATTERN,
    OUTCODE_PATTERN,
    Gazetteer,
    Place,
    close_enough,
)
from content.timewindows import When, WhenKind

MAX_WORDS = 12  # longer messages are conversations, not lookups
MAX_UNKNOWN_PLACE_WORDS = 3


class LookupKind(StrEnum):
    MEETINGS = "meetings"
    SERVICES = "services"
    CRISIS = "crisis"


@dataclass(frozen=True)
class LookupQuery:
    kind: LookupKind
    fellowships: frozenset[Fellowship] = frozenset()  # empty: any
    service_kinds: frozenset[ServiceKind] = frozenset()  # empty: any
    features: Feature = Feature.NONE  # all of these are required
    online: bool = False
    when: When | None = None
    place: Place | None = None
    place_text: str | None = None  # a place we didn't recognise, as typed
    near_me: bool = False


class _Tag(Enum):
    FELLOWSHIP = "fellowship"
    MEETING = "meeting"
    FEATURE = "feature"
    ONLINE = "online"
    SERVICE = "service"
    CRISIS = "crisis"
    WHEN = "when"
    NEAR_ME = "near_me"
    PREPOSITION = "preposition"
    FILLER = "filler"


@dataclass(frozen=True)
class _Term:
    tag: _Tag
    value: object = None


def _terms(tag: _Tag, value: object, *phrases: str) -> dict[str, _Term]:
    return dict.fromkeys(phrases, _Term(tag, value))


_DAY_WORDS = (
    ("sunday", "sun", "sundays"),
    ("monday", "mon", "mondays"),
    ("tuesday", "tue", "tues", "tuesdays"),
    ("wednesday", "wed", "weds", "wednesdays"),
    ("thursday", "thu", "thur", "thurs", "thursdays"),
    ("friday", "fri", "fridays"),
    ("saturday", "sat", "saturdays"),
)

VOCABULARY: dict[str, _Term] = {
    **_terms(_Tag.FELLOWSHIP, Fellowship.AA, "aa", "alcoholics anonymous", "alcoholics"),
    **_terms(_Tag.FELLOWSHIP, Fellowship.NA, "na", "narcotics anonymous", "narcotics"),
    **_terms(_Tag.FELLOWSHIP, Fellowship.CA, "ca", "cocaine anonymous"),
    **_terms(_Tag.FELLOWSHIP, Fellowship.SMART, "smart", "smrt", "smart recovery"),
    **_terms(_Tag.FELLOWSHIP, Fellowship.AL_ANON, "al anon", "alanon", "alateen"),
    **_terms(_Tag.MEETING, None, "meeting", "meetings", "meet", "mtg", "mtgs"),
    **_terms(_Tag.FEATURE, Feature.WOMEN, "women", "womens", "woman", "ladies", "female"),
    **_terms(_Tag.FEATURE, Feature.MEN, "men", "mens", "male"),
    **_terms(_Tag.FEATURE, Feature.OPEN, "open"),
    **_terms(_Tag.FEATURE, Feature.CLOSED, "closed"),
    **_terms(_Tag.FEATURE, Feature.NEWCOMERS, "newcomer", "newcomers", "beginner", "beginners"),
    **_terms(_Tag.FEATURE, Feature.WHEELCHAIR, "wheelchair", "accessible"),
    **_terms(_Tag.ONLINE, None, "online", "on line", "zoom", "virtual", "video"),
    **_terms(_Tag.SERVICE, ServiceKind.FOOD, "food", "foodbank", "food bank", "meal", "meals"),
    **_terms(_Tag.SERVICE, ServiceKind.FOOD, "soup kitchen", "food banks", "foodbanks"),
    **_terms(_Tag.SERVICE, ServiceKind.HOUSING, "housing", "hostel", "shelter", "homeless"),
    **_terms(_Tag.SERVICE, ServiceKind.HOUSING, "accommodation", "night shelter"),
    **_terms(_Tag.SERVICE, ServiceKind.TREATMENT, "treatment", "detox", "rehab", "naloxone"),
    **_terms(_Tag.SERVICE, ServiceKind.TREATMENT, "drug service", "drugs service"),
    **_terms(_Tag.SERVICE, ServiceKind.TREATMENT, "alcohol service", "needle exchange"),
    **_terms(_Tag.SERVICE, ServiceKind.GP, "gp", "doctor", "doctors", "clinic", "gp clinic"),
    **_terms(_Tag.SERVICE, ServiceKind.CAFE, "cafe", "cafes", "recovery cafe", "coffee"),
    **_terms(_Tag.SERVICE, ServiceKind.HUB, "hub", "hubs", "recovery hub", "drop in"),
    **_terms(_Tag.SERVICE, ServiceKind.FAMILY, "family", "families", "carer", "carers"),
    **_terms(_Tag.SERVICE, ServiceKind.FAMILY, "family support"),
    **_terms(_Tag.SERVICE, None, "services", "service"),
    **_terms(_Tag.CRISIS, None, "crisis", "crisis line", "crisis lines", "crisis numbers"),
    **_terms(_Tag.CRISIS, None, "helpline", "helplines", "emergency", "samaritans"),
    **_terms(_Tag.WHEN, When(WhenKind.NOW), "now", "right now"),
    **_terms(_Tag.WHEN, When(WhenKind.TONIGHT), "tonight", "tonite", "2nite", "2night"),
    **_terms(_Tag.WHEN, When(WhenKind.TONIGHT), "this evening", "later"),
    **_terms(_Tag.WHEN, When(WhenKind.TODAY), "today", "2day"),
    **_terms(_Tag.WHEN, When(WhenKind.TOMORROW), "tomorrow", "tmrw", "tmw", "tomoz", "2moro"),
    **_terms(_Tag.WHEN, When(WhenKind.TOMORROW), "2morrow"),
    **{
        word: _Term(_Tag.WHEN, When(WhenKind.DAY, weekday))
        for weekday, words in enumerate(_DAY_WORDS)
        for word in words
    },
    **_terms(_Tag.NEAR_ME, None, "near me", "near here", "nearby", "close by", "closest"),
    **_terms(_Tag.NEAR_ME, None, "nearest", "near to me", "close to me"),
    **_terms(_Tag.PREPOSITION, None, "in", "near", "nr", "around", "at"),
    **_terms(_Tag.FILLER, None, "a", "an", "the", "any", "some", "on", "for", "of", "to"),
    **_terms(_Tag.FILLER, None, "what", "whats", "where", "wheres", "is", "are", "there"),
    **_terms(_Tag.FILLER, None, "theres", "show", "find", "list", "get", "me", "please"),
    **_terms(_Tag.FILLER, None, "pls", "plz", "thanks", "thx", "ta", "and", "or", "with"),
    **_terms(_Tag.FILLER, None, "this", "next", "week", "local", "recovery", "support"),
    **_terms(_Tag.FILLER, None, "times", "time", "info", "numbers", "number", "line", "lines"),
}
LONGEST_PHRASE = max(len(p.split()) for p in VOCABULARY)

# Real words one typo away from a lookup word or town ("start" ~ smart, "care" ~
# cafe, "have" ~ Hove): never read these as typos.
NOT_TYPOS = frozenset(
    {"start", "stars", "care", "cares", "oven", "mean", "meat", "have", "home", "hope", "love"}
)
LOOKUP_TAGS = frozenset({_Tag.FELLOWSHIP, _Tag.MEETING, _Tag.SERVICE, _Tag.CRISIS})


def tokenize(text: str) -> list[str]:
    """Lower-case words; accents, apostrophes and dotted abbreviations folded."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['’`]", "", text)
    text = re.sub(r"(?<=\b[a-z])\.", "", text)  # "a.a." -> "aa"
    text = text.replace("&", " and ")
    return re.findall(r"[a-z0-9]+(?::[0-9]+)?", text)


@cache
def _fuzzy_candidates() -> tuple[tuple[str, _Term], ...]:
    return tuple(
        (word, term)
        for word, term in VOCABULARY.items()
        if " " not in word and len(word) >= 4 and term.tag not in (_Tag.FILLER, _Tag.PREPOSITION)
    )


def _fuzzy_term(token: str) -> _Term | None:
    if token in NOT_TYPOS or not token.isalpha():
        return None
    found = {term for word, term in _fuzzy_candidates() if close_enough(token, word)}
    return found.pop() if len(found) == 1 else None


@dataclass
class _Parse:
    """Accumulates what the words said while :func:`parse_query` walks them."""

    tags: set[_Tag] = field(default_factory=set)
    fellowships: set[Fellowship] = field(default_factory=set)
    service_kinds: set[ServiceKind] = field(default_factory=set)
    features: Feature = Feature.NONE
    when: When | None = None
    place: Place | None = None
    place_text: str | None = None

    def add(self, term: _Term) -> None:
        self.tags.add(term.tag)
        if term.tag is _Tag.FELLOWSHIP and isinstance(term.value, Fellowship):
            self.fellowships.add(term.value)
        elif term.tag is _Tag.FEATURE and isinstance(term.value, Feature):
            self.features |= term.value
        elif term.tag is _Tag.SERVICE and isinstance(term.value, ServiceKind):
            self.service_kinds.add(term.value)
        elif term.tag is _Tag.WHEN and isinstance(term.value, When):
            self.when = term.value

    def set_place(self, place: Place | None, text: str | None = None) -> bool:
        """False if a different place was already named (we can't tell which)."""
        if self.place not in (None, place) or self.place_text is not None:
            return False
        self.place, self.place_text = place, text
        return True

    def query(self) -> LookupQuery | None:
        if not self.tags & LOOKUP_TAGS:
            return None
        if _Tag.CRISIS in self.tags:
            kind = LookupKind.CRISIS
        elif self.tags & {_Tag.FELLOWSHIP, _Tag.MEETING}:
            kind = LookupKind.MEETINGS
        else:
            kind = LookupKind.SERVICES
        return LookupQuery(
            kind=kind,
            fellowships=frozenset(self.fellowships),
            service_kinds=frozenset(self.service_kinds),
            features=self.features,
            online=_Tag.ONLINE in self.tags,
            when=self.when,
            place=self.place,
            place_text=self.place_text,
            near_me=_Tag.NEAR_ME in self.tags,
        )


def _match_at(
    tokens: list[str], i: int, places: Gazetteer
) -> tuple[int, _Term | Place | str] | None:
    """Longest known phrase or place starting at token ``i``: (words used, meaning).

    A postcode-shaped word we have no centroid for comes back as a plain string.
    """
    longest = max(LONGEST_PHRASE, places.longest_name_words)
    for size in range(min(longest, len(tokens) - i), 0, -1):
        phrase = " ".join(tokens[i : i + size])
        if phrase in VOCABULARY:
            return size, VOCABULARY[phrase]
        town = places.town(phrase, fuzzy=False)
        if town is not None:
            return size, town
    token = tokens[i]
    if OUTCODE_PATTERN.match(token):
        place = places.outcode(token)
        inward = i + 1 < len(tokens) and INWARD_PATTERN.match(tokens[i + 1])
        return (2 if inward else 1), place or token.upper()
    fuzzy = _fuzzy_term(token)
    if fuzzy is not None:
        return 1, fuzzy
    for size in (2, 1):
        words = tokens[i : i + size]
        if len(words) == size and all(t.isalpha() and t not in NOT_TYPOS for t in words):
            town = places.town(" ".join(words))
            if town is not None:
                return size, town
    return None


def parse_query(text: str, places: Gazetteer | None = None) -> LookupQuery | None:
    """A lookup query, or None when the text is not clearly a lookup.

    ``places`` is the live network's gazetteer; by default the shipped data's.
    """
    places = places or default_places()
    tokens = tokenize(text)
    if not tokens or len(tokens) > MAX_WORDS:
        return None
    state = _Parse()
    after_preposition = False
    i = 0
    while i < len(tokens):
        found = _match_at(tokens, i, places)
        if found is None:
            if not after_preposition:
                return None
            size = _unknown_place_words(tokens, i, places)
            if size == 0 or not state.set_place(None, " ".join(tokens[i : i + size])):
                return None
            i += size
            continue
        size, meaning = found
        if isinstance(meaning, Place):
            if not state.set_place(meaning):
                return None
        elif isinstance(meaning, str):
            if not state.set_place(None, meaning):
                return None
        else:
            state.add(meaning)
        after_preposition = isinstance(meaning, _Term) and meaning.tag is _Tag.PREPOSITION
        i += size
    return state.query()


def _unknown_place_words(tokens: list[str], i: int, places: Gazetteer) -> int:
    """How many words from ``i`` make up an unknown place name (0: not a name)."""
    size = 0
    while i + size < len(tokens) and size < MAX_UNKNOWN_PLACE_WORDS + 1:
        token = tokens[i + size]
        if not token.isalpha() or _match_at(tokens, i + size, places) is not None:
            break
        size += 1
    return 0 if size > MAX_UNKNOWN_PLACE_WORDS else size


@cache
def default_places() -> Gazetteer:
    from content.loader import load_network

    return load_network().places


# ---- compact form for Telegram callback data (paging) ----------------------

_WHEN_CODES = {
    WhenKind.NOW: "n",
    WhenKind.TONIGHT: "t",
    WhenKind.TODAY: "d",
    WhenKind.TOMORROW: "m",
}
_FELLOWSHIPS = list(Fellowship)
_SERVICE_KINDS = list(ServiceKind)
_KINDS = list(LookupKind)


def encode_query(query: LookupQuery) -> str:
    """A short string that :func:`decode_query` turns back into the same query."""
    when = query.when
    when_code = "" if when is None else _WHEN_CODES.get(when.kind, f"w{when.weekday}")
    return "|".join(
        (
            str(_KINDS.index(query.kind)),
            "".join(str(_FELLOWSHIPS.index(f)) for f in sorted(query.fellowships)),
            "".join(str(_SERVICE_KINDS.index(k)) for k in sorted(query.service_kinds)),
            str(int(query.features)),
            "1" if query.online else "",
            when_code,
            query.place.key if query.place else "",
        )
    )


def decode_query(code: str, places: Gazetteer) -> LookupQuery | None:
    try:
        kind, fellowships, kinds, features, online, when_code, place_key = code.split("|")
        when = None
        if when_code.startswith("w"):
            when = When(WhenKind.DAY, int(when_code[1:]))
        elif when_code:
            when = When(next(k for k, c in _WHEN_CODES.items() if c == when_code))
        query = LookupQuery(
            kind=_KINDS[int(kind)],
            fellowships=frozenset(_FELLOWSHIPS[int(c)] for c in fellowships),
            service_kinds=frozenset(_SERVICE_KINDS[int(c)] for c in kinds),
            features=Feature(int(features)),
            online=online == "1",
            when=when,
        )
    except (ValueError, IndexError, StopIteration):
        return None
    if place_key:
        place = places.by_key(place_key)
        if place is None:
            return None
        query = replace(query, place=place)
    return query
