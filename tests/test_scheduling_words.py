"""The words: every scheduling text fits two SMS segments with typical values filled
in, and the prompt library is big enough, balanced and never repeats within 30 days."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta

import pytest

from bot.segments import count_segments, is_gsm7
from content import texts
from content.prompt_library import THEMES, library, pick

WORDS = texts.WORDS_DIR / "scheduling.toml"
TYPICAL = {
    "appt": "Tue 17 Mar, 10:30, keyworker at the Hub then the chemist",
    "offsets": "the day before and an hour before",
    "what": "keyworker at the Hub",
    "when": "tomorrow at 10:30",
    "number": 2,
    "filename": "night-owl-appointments.ics",
    "lines": "1. Tue 17 Mar, 10:30, keyworker at the Hub\n2. Wed 18 Mar, 14:00, GP",
    "time": "09:00",
    "prompt": max((p.text for p in library()), key=len),
    "trend": "cravings lower than last week: 2.1 vs 3.4; mood higher than last week: 3.2 vs 2.5; "
    "check-up score down from 41 to 34 (out of 60)",
    "start": "22:30",
    "end": "08:00",
    "ref": "K7M2QX",
    "id": 12,
    "audience": "all (urgent)",
    "counts": "sim 3, sms 1200, telegram 800",
    "segments": 2,
    "cost": "96.00",
    "expires": "Mon 16 Mar 09:00",
    "statement": max((texts.render(f"barc.s{n}") for n in range(1, 11)), key=len),
    "answered": 9,
    "result": "down from 41 to 34 (out of 60)",
    "score": 41,
    "before": 34,
    "area": "Brighton and Hove",
    "areas": "Brighton and Hove, Calderdale, West Sussex",
    "place": "SW1A",
}


def scheduling_keys() -> list[str]:
    with WORDS.open("rb") as fh:
        raw = tomllib.load(fh)
    return [f"{section}.{name}" for section, entries in raw.items() for name in entries]


@pytest.mark.parametrize("key", scheduling_keys())
def test_every_text_fits_two_segments_in_gsm(key: str) -> None:
    values = {name: TYPICAL[name] for name in texts.placeholders(key) if name != "safety"}
    rendered = texts.render(key, **values)
    assert is_gsm7(rendered), key
    assert count_segments(rendered) <= 2, (key, len(rendered))


def test_no_key_clashes_with_another_words_file() -> None:
    assert set(scheduling_keys()) <= set(texts.keys())  # loading checks for duplicates


def test_the_library_has_60_prompts_across_every_chime_theme() -> None:
    prompts = library()
    assert len(prompts) >= 60
    assert len({p.id for p in prompts}) == len(prompts)
    assert {p.theme for p in prompts} == set(THEMES)
    checkins = [p for p in prompts if p.kind == "checkin"]
    assert checkins and all(p.measure and p.distress in ("high", "low") for p in checkins)
    for p in prompts:
        assert is_gsm7(p.text) and count_segments(texts.render("prompts.daily", prompt=p.text)) == 1


@pytest.mark.parametrize("contact_id", [1, 2, 7, 60, 63, 12345])
def test_nobody_sees_a_repeat_within_30_days(contact_id: int) -> None:
    start = date(2026, 1, 1)
    seen = [pick(contact_id, start + timedelta(days=d)).id for d in range(400)]
    for i in range(len(seen) - 30):
        assert len(set(seen[i : i + 30])) == 30
