"""Fellowships and what their meeting type codes mean, in plain words.

Codes are not universal: Meeting Guide (AA) says ``B`` is Big Book study while NA
formats use ``BT`` for Basic Text and ``WC`` for wheelchair access. So every
fellowship has its own table. People never see a code: only the words here, which
are short on purpose (many readers find long words hard). A few codes also map to a
:class:`Feature` that people can ask for ("women's meeting").
"""

from __future__ import annotations

from enum import IntFlag, StrEnum
from functools import cache
from types import MappingProxyType
from typing import NamedTuple


class Fellowship(StrEnum):
    AA = "AA"
    NA = "NA"
    CA = "CA"
    SMART = "SMART"
    AL_ANON = "Al-Anon"
    OTHER = "other"

    @classmethod
    def parse(cls, value: str) -> Fellowship:
        """Case-insensitive, ignoring spaces and dashes ("al anon", "smart")."""
        found = _FELLOWSHIP_KEYS.get(_fellowship_key(value))
        if found is None:
            raise ValueError(f"unknown fellowship {value!r} (use one of {', '.join(cls)})")
        return found


def _fellowship_key(value: str) -> str:
    return value.replace("-", "").replace(" ", "").casefold()


_FELLOWSHIP_KEYS = {_fellowship_key(member.value): member for member in Fellowship}


class Feature(IntFlag):
    """Meeting qualities people ask for by word; a bit mask so filtering is cheap."""

    NONE = 0
    OPEN = 1
    CLOSED = 2
    WOMEN = 4
    MEN = 8
    NEWCOMERS = 16
    WHEELCHAIR = 32
    ONLINE = 64


class TypeMeaning(NamedTuple):
    words: str
    feature: Feature = Feature.NONE


_M = TypeMeaning
_F = Feature

# Shared by most fellowships that follow the Meeting Guide codes.
_COMMON: dict[str, TypeMeaning] = {
    "O": _M("open meeting: anyone can come", _F.OPEN),
    "C": _M("closed meeting: only for people who want to stop", _F.CLOSED),
    "W": _M("women only", _F.WOMEN),
    "M": _M("men only", _F.MEN),
    "BE": _M("good for newcomers", _F.NEWCOMERS),
    "X": _M("wheelchair access", _F.WHEELCHAIR),
    "XB": _M("wheelchair toilet"),
    "ONL": _M("online", _F.ONLINE),
    "TC": _M("building closed for now"),
    "LGBTQ": _M("LGBTQ+ friendly"),
    "Y": _M("young people"),
    "SEN": _M("older people"),
    "D": _M("discussion"),
    "SP": _M("speaker"),
    "ST": _M("step study"),
    "CF": _M("children welcome"),
    "ASL": _M("sign language"),
    "OUT": _M("outdoors"),
    "MED": _M("meditation"),
    "LIT": _M("reading from books"),
}

_AA: dict[str, TypeMeaning] = {
    **_COMMON,
    "11": _M("step 11 and meditation"),
    "12X12": _M("steps and traditions study"),
    "A": _M("non-religious"),
    "ABSI": _M("reading: As Bill Sees It"),
    "AL-AN": _M("Al-Anon meets at the same time"),
    "AL": _M("Alateen meets at the same time"),
    "B": _M("Big Book study"),
    "BA": _M("childcare on site"),
    "BRK": _M("breakfast"),
    "CAN": _M("candlelight"),
    "DD": _M("for drink or drugs plus mental health"),
    "DR": _M("reading: Daily Reflections"),
    "FF": _M("no perfume please"),
    "G": _M("gay"),
    "GR": _M("reading: Grapevine"),
    "H": _M("birthdays marked"),
    "L": _M("lesbian"),
    "LS": _M("reading: Living Sober"),
    "P": _M("for professionals"),
    "POA": _M("can sign attendance forms"),
    "SM": _M("smoking allowed"),
    "T": _M("transgender"),
    "TR": _M("traditions study"),
    "XT": _M("cross talk allowed"),
}

# NA formats (BMLT-style): several letters mean something else here.
_NA: dict[str, TypeMeaning] = {
    "O": _M("open meeting: anyone can come", _F.OPEN),
    "C": _M("closed meeting: only for addicts", _F.CLOSED),
    "W": _M("women only", _F.WOMEN),
    "M": _M("men only", _F.MEN),
    "BEG": _M("good for newcomers", _F.NEWCOMERS),
    "WC": _M("wheelchair access", _F.WHEELCHAIR),
    "VM": _M("online", _F.ONLINE),
    "ONL": _M("online", _F.ONLINE),
    "BT": _M("reading: Basic Text"),
    "JT": _M("reading: Just for Today"),
    "IW": _M("reading: It Works How and Why"),
    "LC": _M("reading: Living Clean"),
    "SD": _M("speaker and discussion"),
    "D": _M("discussion"),
    "ST": _M("step study"),
    "TR": _M("traditions study"),
    "TI": _M("timed sharing"),
    "CW": _M("children welcome"),
    "NC": _M("no children please"),
    "NS": _M("no smoking"),
    "SM": _M("smoking allowed"),
    "GL": _M("gay and lesbian"),
    "Y": _M("young people"),
    "CAN": _M("candlelight"),
    "TC": _M("building closed for now"),
}

_CA: dict[str, TypeMeaning] = {
    **_COMMON,
    "C": _M("closed meeting: only for people with a drug or drink problem", _F.CLOSED),
    "B": _M("Big Book study"),
    "HOPE": _M("reading: Hope, Faith and Courage"),
}

_SMART: dict[str, TypeMeaning] = {
    **_COMMON,
    "F": _M("for family and friends"),
    "DD": _M("for drink or drugs plus mental health"),
}

_AL_ANON: dict[str, TypeMeaning] = {
    **_COMMON,
    "C": _M("closed meeting: for family and friends of drinkers", _F.CLOSED),
    "AL": _M("Alateen: for young people"),
    "AC": _M("adult children of drinkers"),
    "P": _M("for parents"),
}

TYPE_MEANINGS: MappingProxyType[Fellowship, MappingProxyType[str, TypeMeaning]] = MappingProxyType(
    {
        Fellowship.AA: MappingProxyType(_AA),
        Fellowship.NA: MappingProxyType(_NA),
        Fellowship.CA: MappingProxyType(_CA),
        Fellowship.SMART: MappingProxyType(_SMART),
        Fellowship.AL_ANON: MappingProxyType(_AL_ANON),
        Fellowship.OTHER: MappingProxyType(_COMMON),
    }
)

FEATURE_WORDS: MappingProxyType[Feature, str] = MappingProxyType(
    {
        Feature.WOMEN: "women's",
        Feature.MEN: "men's",
        Feature.OPEN: "open",
        Feature.CLOSED: "closed",
        Feature.NEWCOMERS: "newcomer-friendly",
        Feature.WHEELCHAIR: "wheelchair-friendly",
        Feature.ONLINE: "online",
    }
)


def type_words(fellowship: Fellowship, codes: tuple[str, ...]) -> tuple[str, ...]:
    """Plain words for the codes this fellowship knows; unknown codes are left out."""
    table = TYPE_MEANINGS[fellowship]
    words = (table[code].words for code in codes if code in table)
    return tuple(dict.fromkeys(words))


@cache
def type_features(fellowship: Fellowship, codes: tuple[str, ...]) -> Feature:
    """Cached: a big map repeats the same few type combinations thousands of times."""
    table = TYPE_MEANINGS[fellowship]
    feature = Feature.NONE
    for code in codes:
        if code in table:
            feature |= table[code].feature
    return feature


def code_for_name(fellowship: Fellowship, name: str) -> str | None:
    """Map a type written out in words (TSML CSV exports do this) back to its code."""
    wanted = name.strip().casefold()
    for code, meaning in TYPE_MEANINGS[fellowship].items():
        if wanted in (code.casefold(), meaning.words.casefold()):
            return code
    return _SPEC_NAMES.get(wanted)


# Meeting Guide's own English names for codes, as CSV exports spell them.
_SPEC_NAMES: dict[str, str] = {
    "open": "O",
    "closed": "C",
    "women": "W",
    "men": "M",
    "newcomer": "BE",
    "wheelchair access": "X",
    "wheelchair-accessible bathroom": "XB",
    "online": "ONL",
    "location temporarily closed": "TC",
    "big book": "B",
    "discussion": "D",
    "speaker": "SP",
    "step study": "ST",
    "young people": "Y",
    "lgbtq": "LGBTQ",
    "secular": "A",
    "meditation": "MED",
    "literature": "LIT",
    "tradition study": "TR",
}
