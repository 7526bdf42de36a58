"""Spotting a person in danger from what they write (the list is in content/triage.toml)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TRIAGE_FILE = Path(__file__).parents[1] / "content" / "triage.toml"


@dataclass(frozen=True)
class Flag:
    category: str  # suicide, overdose, self_harm, danger


@cache
def _patterns() -> list[tuple[str, re.Pattern[str]]]:
    with TRIAGE_FILE.open("rb") as fh:
        raw = tomllib.load(fh)
    return [
        (category, re.compile(pattern, re.IGNORECASE))
        for category, entry in raw.items()
        for pattern in entry["patterns"]
    ]


def _fold(text: str) -> str:
    # Curly apostrophes and runs of spaces are how phones write; fold them once here.
    return " ".join(text.replace("’", "'").split())


def triage(text: str) -> Flag | None:
    """The first crisis category ``text`` matches, or None."""
    folded = _fold(text)
    for category, pattern in _patterns():
        if pattern.search(folded):
            return Flag(category)
    return None
