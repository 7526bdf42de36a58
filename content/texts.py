"""User-facing words, loaded from ``content/words/*.toml`` so they can be reviewed (and
translated) in one place. Each file holds sections of templates; a template is named
"section.name" and no name may be defined twice."""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path

WORDS_DIR = Path(__file__).with_name("words")


@cache
def _load() -> dict[str, str]:
    flat: dict[str, str] = {}
    for path in sorted(WORDS_DIR.glob("*.toml")):
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
        for section, entries in raw.items():
            for name, value in entries.items():
                key = f"{section}.{name}"
                if key in flat:
                    raise ValueError(f"{path.name}: {key} is already defined in another words file")
                flat[key] = value
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
