"""User-facing words, loaded from ``texts.toml`` so they can be reviewed in one place."""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path

TEXTS_FILE = Path(__file__).with_name("texts.toml")


@cache
def _load() -> dict[str, str]:
    with TEXTS_FILE.open("rb") as fh:
        raw = tomllib.load(fh)
    flat: dict[str, str] = {}
    for section, entries in raw.items():
        for name, value in entries.items():
            flat[f"{section}.{name}"] = value
    return flat


def keys() -> list[str]:
    return sorted(_load())


def placeholders(key: str) -> set[str]:
    """Names a template expects, e.g. ``{"text", "safety"}``."""
    return {name for _, name, _, _ in string.Formatter().parse(_load()[key]) if name}


def render(key: str, **values: object) -> str:
    """Fill template ``key`` ("section.name"); ``{safety}`` is always available."""
    template = _load()[key]
    values.setdefault("safety", _load()["safety.line"])
    return template.format(**values)
