"""SMS segment arithmetic (GSM 03.38 / UCS-2) and word-safe splitting of long texts.

A single SMS carries 160 GSM-7 septets or 70 UCS-2 code units; once a message is
concatenated each part loses room to the header (153 / 67). Characters from the
GSM-7 extension table (``{ } [ ] ~ \\ | ^ €`` and form feed) cost two septets.
One character outside the GSM-7 alphabet turns the whole message into UCS-2, where
characters outside the Basic Multilingual Plane (most emoji) take two code units.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

TELEGRAM_MAX_CHARS = 4096


@dataclass(frozen=True)
class SegmentInfo:
    """How a text travels as SMS: its encoding, cost in units, and segment count."""

    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _units(text: str, gsm: bool) -> int:
    if gsm:
        return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def _limits(gsm: bool) -> tuple[int, int]:
    """(single-message capacity, per-part capacity when concatenated)."""
    return (160, 153) if gsm else (70, 67)


def segment_info(text: str) -> SegmentInfo:
    gsm = is_gsm7(text)
    units = _units(text, gsm)
    single, part = _limits(gsm)
    segments = 1 if units <= single else -(-units // part)
    return SegmentInfo("GSM-7" if gsm else "UCS-2", units, segments)


def count_segments(text: str) -> int:
    return segment_info(text).segments


def _fits(text: str, max_units: int, gsm: bool) -> bool:
    return _units(text, gsm) <= max_units


def split_words(text: str, max_units: int, gsm: bool | None = None) -> list[str]:
    """Split ``text`` into chunks of at most ``max_units`` without breaking words.

    Breaks at the last newline or space that fits; only a single word longer than the
    whole budget is cut (there is nowhere else to cut it).
    """
    if gsm is None:
        gsm = is_gsm7(text)
    text = text.strip()
    chunks: list[str] = []
    while text and not _fits(text, max_units, gsm):
        # Largest prefix that fits, then back off to a break.
        cut, used = 0, 0
        for i, ch in enumerate(text):
            used += _units(ch, gsm)
            if used > max_units:
                cut = i
                break
        head = text[:cut]
        brk = max(head.rfind("\n"), head.rfind(" "))
        if brk > 0:
            head = text[:brk]
        chunks.append(head.rstrip())
        text = text[len(head) :].lstrip()
    if text:
        chunks.append(text)
    return chunks


def split_sms(text: str, max_segments: int) -> list[str]:
    """Split a long SMS into messages of at most ``max_segments`` segments each."""
    gsm = is_gsm7(text)
    single, part = _limits(gsm)
    budget = single if max_segments == 1 else part * max_segments
    return split_words(text, budget, gsm)


def split_telegram(text: str) -> list[str]:
    return split_words(text, TELEGRAM_MAX_CHARS, gsm=False) if len(text) > 0 else []
