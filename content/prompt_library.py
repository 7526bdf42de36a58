"""The daily prompt library (``content/prompts.toml``) and who gets which prompt when.

The library is ordered so themes take turns and every third prompt is a check-in; a
person's prompt for a day is the next one along from yesterday's, from a starting
point set by their id. With at least 60 prompts, nobody sees a repeat within 30 days.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from itertools import chain, zip_longest
from pathlib import Path
from typing import Literal

PROMPTS_FILE = Path(__file__).with_name("prompts.toml")
THEMES = ("connectedness", "hope", "identity", "meaning", "empowerment")
SCALE = range(0, 6)


@dataclass(frozen=True)
class Prompt:
    id: str
    theme: str
    kind: Literal["reflection", "checkin"]
    text: str
    measure: str | None = None
    distress: Literal["high", "low"] | None = None

    def is_distress(self, score: int) -> bool:
        """A check-in score at the struggling end of the scale (4-5, or 0-1)."""
        if self.distress == "high":
            return score >= 4
        return self.distress == "low" and score <= 1


def _interleave(groups: list[list[Prompt]]) -> list[Prompt]:
    return [p for p in chain.from_iterable(zip_longest(*groups)) if p is not None]


@cache
def library() -> tuple[Prompt, ...]:
    with PROMPTS_FILE.open("rb") as fh:
        raw = tomllib.load(fh)["prompt"]
    prompts = [Prompt(**entry) for entry in raw]
    reflections = _interleave(
        [[p for p in prompts if p.kind == "reflection" and p.theme == t] for t in THEMES]
    )
    checkins = [p for p in prompts if p.kind == "checkin"]
    # Two reflections, then a check-in, round and round.
    pairs = [reflections[i : i + 2] for i in range(0, len(reflections), 2)]
    return tuple(_mix(pairs, checkins))


def _mix(pairs: list[list[Prompt]], checkins: list[Prompt]) -> list[Prompt]:
    mixed: list[Prompt] = []
    for pair, checkin in zip_longest(pairs, checkins):
        mixed.extend(pair or [])
        if checkin is not None:
            mixed.append(checkin)
    return mixed


@cache
def by_id() -> dict[str, Prompt]:
    return {p.id: p for p in library()}


def pick(contact_id: int, day: date) -> Prompt:
    """The prompt for this person on this local day."""
    prompts = library()
    return prompts[(contact_id * 7 + day.toordinal()) % len(prompts)]
