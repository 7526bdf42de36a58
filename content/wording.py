"""Every sentence a lookup answer says, in one place for review.

Plain, warm UK English with short words: about one in five people we text find
reading hard. Keep codes and jargon out.
"""

from __future__ import annotations

from content.meeting_types import FEATURE_WORDS, Feature, Fellowship
from content.models import SERVICE_KIND_WORDS, ServiceKind
from content.places import Place, PlaceKind
from content.timewindows import When, WhenKind

FULL_DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")

NEXT_ONES = "Here are the next ones:"
FURTHER_AWAY = "Nothing within {miles} miles. Further away:"
ONLY_ONLINE = "None in person near {place}. These are online:"
ONLINE_INSTEAD = "These are online:"
ADD_A_PLACE = "For meetings near you, add a town or postcode, like 'AA Crawley'."
WHICH_TOWN = "Which town? Send it with your words, like '{example}'."
UNKNOWN_PLACE = "Sorry, I don't know the place '{text}'. Try a town, or a postcode start like BN1."
NOTHING_FOUND = "Try another day or a bigger town near you, or text 'online meetings'."
NOTHING_FOUND_SERVICES = "I don't have any listed there yet. Text 'crisis' for help numbers."
CRISIS_HEADING = "Help now ({region}):"

REPLY_FOR_DETAILS = "Reply {first}-{last} for details."
REPLY_ONE_FOR_DETAILS = "Reply {first} for details."
MORE = "More: reply MORE"
TAP_FOR_DETAILS = "Tap a number for details."
MORE_BUTTON = "More"
BACK_BUTTON = "Back"

FELLOWSHIP_NAMES = {f: f.value for f in Fellowship} | {Fellowship.OTHER: "recovery"}
LIST_LABELS = {f: f.value for f in Fellowship} | {Fellowship.OTHER: "Meeting"}


def when_words(when: When | None, services: bool = False) -> str:
    if when is None:
        return ""
    prefix = "open " if services else ""
    if when.kind is WhenKind.NOW:
        return "open now" if services else "on now or soon"
    if when.kind is WhenKind.DAY and when.weekday is not None:
        return f"{prefix}on {FULL_DAY_NAMES[when.weekday]}"
    return prefix + when.kind.value


def near_words(place: Place | None) -> str:
    if place is None:
        return ""
    return "near you" if place.kind is PlaceKind.LOCATION else f"near {place.name}"


def describe_meetings(
    fellowships: frozenset[Fellowship],
    features: Feature,
    when: When | None,
    place: Place | None,
    online: bool,
) -> str:
    """E.g. "women's online SMART meetings tonight near Crawley"."""
    words = [FEATURE_WORDS[f] for f in FEATURE_WORDS if f in features and f is not Feature.ONLINE]
    if online:
        words.append("online")
    words.append(" or ".join(FELLOWSHIP_NAMES[f] for f in sorted(fellowships)))
    words += ["meetings", when_words(when), near_words(place)]
    return " ".join(w for w in words if w)


def describe_services(kinds: frozenset[ServiceKind], when: When | None, place: Place | None) -> str:
    """E.g. "food help open on Sunday near Bognor Regis"."""
    what = " or ".join(SERVICE_KIND_WORDS[k] for k in sorted(kinds)) or "services"
    return " ".join(w for w in (what, when_words(when, services=True), near_words(place)) if w)


def headline(understood: str, found: bool) -> str:
    return f"{understood[0].upper()}{understood[1:]}:" if found else f"No {understood}."
