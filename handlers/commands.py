"""What plain-word settings commands (CHECKUP, AREA) share."""

from __future__ import annotations

MAX_SETTING_WORDS = 3


def is_sentence(args: str) -> bool:
    """Whether words after a setting's name that we could not read are a message that
    happens to start with it ("area round me is rough tonight"), which goes on to a
    buddy, rather than a setting to explain."""
    return len(args.split()) > MAX_SETTING_WORDS
