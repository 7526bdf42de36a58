"""Lists (appointments, journal entries) that must still fit two SMS segments: each
line is shortened evenly until the whole message fits. Other channels get it whole."""

from __future__ import annotations

from collections.abc import Callable

from bot.segments import count_segments

MAX_SEGMENTS = 2
_MIN_LINE = 12


def fit_lines(channel: str, lines: list[str], render: Callable[[str], str]) -> str:
    """``render("\\n".join(lines))``, with lines cut short with "..." for SMS."""
    text = render("\n".join(lines))
    if channel != "sms":
        return text
    width = max(len(line) for line in lines)
    while count_segments(text) > MAX_SEGMENTS and width > _MIN_LINE:
        width -= 4
        text = render("\n".join(_cut(line, width) for line in lines))
    return text


def _cut(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 3].rstrip() + "..."
