"""SMS segment rules (GSM-7 160/153, UCS-2 70/67) and word-safe splitting."""

from __future__ import annotations

import pytest

from bot.segments import TELEGRAM_MAX_CHARS, count_segments, segment_info, split_sms, split_telegram


@pytest.mark.parametrize(
    ("text", "encoding", "segments"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2),
        ("£ ñ é à Ä ß", "GSM-7", 1),
        ("a" * 69 + "ł", "UCS-2", 1),
        ("a" * 70 + "ł", "UCS-2", 2),
        ("a" * 133 + "ł", "UCS-2", 2),
        ("a" * 134 + "ł", "UCS-2", 3),
        ("🦉" * 35, "UCS-2", 1),  # outside the BMP: two code units each
        ("🦉" * 36, "UCS-2", 2),
        ("it’s", "UCS-2", 1),  # a curly apostrophe is not GSM-7
    ],
)
def test_segment_counts(text: str, encoding: str, segments: int) -> None:
    info = segment_info(text)
    assert (info.encoding, info.segments) == (encoding, segments)


def test_split_sms_never_breaks_words_and_respects_budget() -> None:
    words = [f"word{i}" for i in range(400)]
    text = " ".join(words)
    parts = split_sms(text, max_segments=2)
    assert len(parts) > 1
    assert all(count_segments(p) <= 2 for p in parts)
    assert " ".join(parts).split() == words  # nothing lost, no word cut


def test_split_sms_ucs2_budget() -> None:
    text = " ".join(["łódź"] * 200)
    parts = split_sms(text, max_segments=1)
    assert all(count_segments(p) == 1 for p in parts)
    assert " ".join(parts) == text


def test_split_only_cuts_a_word_longer_than_the_budget() -> None:
    parts = split_sms("x" * 400, max_segments=1)
    assert [len(p) for p in parts] == [160, 160, 80]


def test_split_telegram_prefers_newlines() -> None:
    para = "line of text\n" * 600
    parts = split_telegram(para)
    assert all(len(p) <= TELEGRAM_MAX_CHARS for p in parts)
    assert all(p.endswith("line of text") for p in parts)
    assert sum(p.count("line of text") for p in parts) == 600


def test_short_text_is_one_part() -> None:
    assert split_sms("hello", 10) == ["hello"]
    assert split_telegram("hello") == ["hello"]
