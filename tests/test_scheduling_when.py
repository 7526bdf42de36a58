"""REMIND parsing: a table of phrasings, good and bad, at a fixed "now" (Thursday 12
March 2026, 14:00 in London, which is GMT that day)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from handlers.scheduling import split_command
from handlers.when import Parsed, Refusal, parse_clock, parse_remind

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 12, 14, 0, tzinfo=UTC)

GOOD = [
    ("tue 10:30 keyworker at the Hub", "2026-03-17 10:30", "keyworker at the Hub"),
    ("14/3 2pm GP", "2026-03-14 14:00", "GP"),
    ("tomorrow 9 SMART meeting", "2026-03-13 09:00", "SMART meeting"),
    ("3/4 10am dentist", "2026-04-03 10:00", "dentist"),  # UK order: 3 April
    ("Tuesday 10.30 keyworker", "2026-03-17 10:30", "keyworker"),
    ("TUES 10:30AM keyworker", "2026-03-17 10:30", "keyworker"),
    ("wed 2:15pm probation", "2026-03-18 14:15", "probation"),
    ("thu 11am court", "2026-03-19 11:00", "court"),  # a weekday is after today
    ("fri 3 GP", "2026-03-13 15:00", "GP"),  # a bare 1-7 is afternoon
    ("sat 12 lunch with mum", "2026-03-14 12:00", "lunch with mum"),
    ("sun noon meeting", "2026-03-15 12:00", "meeting"),
    ("mon midday chemist", "2026-03-16 12:00", "chemist"),
    ("today 4pm pharmacy", "2026-03-12 16:00", "pharmacy"),
    ("tonight 7pm NA meeting", "2026-03-12 19:00", "NA meeting"),
    ("tmrw 10am housing", "2026-03-13 10:00", "housing"),
    ("2pm tomorrow GP", "2026-03-13 14:00", "GP"),
    ("at 2pm on fri - GP", "2026-03-13 14:00", "GP"),
    ("on tue at 10:30 at the Hub", "2026-03-17 10:30", "at the Hub"),
    ("next tue 10:30 keyworker", "2026-03-17 10:30", "keyworker"),
    ("tue, 10:30, keyworker", "2026-03-17 10:30", "keyworker"),
    ("Tue 10:30 Keyworker at The Hub", "2026-03-17 10:30", "Keyworker at The Hub"),
    ("20/3/2026 9:15 CGL assessment", "2026-03-20 09:15", "CGL assessment"),
    ("20/03/26 9:15 CGL", "2026-03-20 09:15", "CGL"),
    ("20-3 9:15 CGL", "2026-03-20 09:15", "CGL"),
    ("14th march 11am court", "2026-03-14 11:00", "court"),
    ("march 14th 11am court", "2026-03-14 11:00", "court"),
    ("14 mar 11am court", "2026-03-14 11:00", "court"),
    ("1st april 2:30pm review", "2026-04-01 14:30", "review"),
    ("5 pm today group", "2026-03-12 17:00", "group"),
    ("tomorrow 17:45 call back", "2026-03-13 17:45", "call back"),
    ("tomorrow 0:30 night shelter", "2026-03-13 00:30", "night shelter"),
    ("4pm", "2026-03-12 16:00", "appointment"),  # no day: today
    ("tomorrow 9am", "2026-03-13 09:00", "appointment"),
    ("12/3 2:01pm", "2026-03-12 14:01", "appointment"),
    ("1/2 10am review", "2027-02-01 10:00", "review"),  # long gone: next year
    # The spring-forward gap: 01:30 does not exist on 29 March; it means 02:30 BST.
    ("29/3 1:30am x", "2026-03-29 02:30", "x"),
    # 01:30 happens twice on 25 October: the first (BST) is meant.
    ("25/10 1:30am x", "2026-10-25 01:30", "x"),
]

BAD = [
    ("me to call mum", Refusal.UNCLEAR),
    ("", Refusal.UNCLEAR),
    ("tue", Refusal.UNCLEAR),
    ("tue keyworker", Refusal.UNCLEAR),
    ("yesterday 10am", Refusal.UNCLEAR),
    ("31/2 10am", Refusal.UNCLEAR),
    ("29/2 10am", Refusal.UNCLEAR),
    ("14/13 10am", Refusal.UNCLEAR),
    ("25:00 x", Refusal.UNCLEAR),
    ("13pm GP", Refusal.UNCLEAR),
    ("tue 10:75", Refusal.UNCLEAR),
    ("10/3 10am GP", Refusal.PAST),  # two days ago
    ("today 9am GP", Refusal.PAST),
    ("9am GP", Refusal.PAST),
    ("12/3 2pm", Refusal.PAST),  # exactly now
    ("14/3/2025 2pm", Refusal.PAST),
]


def test_the_table_is_big_enough() -> None:
    assert len(GOOD) + len(BAD) >= 40


@pytest.mark.parametrize(("text", "local", "what"), GOOD)
def test_good_phrasings(text: str, local: str, what: str) -> None:
    parsed = parse_remind(text, NOW, LONDON)
    assert isinstance(parsed, Parsed), parsed
    assert f"{parsed.starts_at.astimezone(LONDON):%Y-%m-%d %H:%M}" == local
    assert parsed.what == what


@pytest.mark.parametrize(("text", "refusal"), BAD)
def test_bad_phrasings(text: str, refusal: Refusal) -> None:
    assert parse_remind(text, NOW, LONDON) == refusal


def test_the_gap_and_the_fold_are_exact_instants() -> None:
    gap = parse_remind("29/3 1:30am x", NOW, LONDON)
    fold = parse_remind("25/10 1:30am x", NOW, LONDON)
    assert isinstance(gap, Parsed) and isinstance(fold, Parsed)
    assert gap.starts_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert fold.starts_at == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9am", time(9)),
        ("9", time(9)),
        ("1:30", time(1, 30)),
        ("7.15 pm", time(19, 15)),
        ("21:30", time(21, 30)),
        ("noon", time(12)),
        ("12am", time(0)),
        ("soon", None),
        ("9am 10am", None),
        ("24:00", None),
    ],
)
def test_clock_times_for_prompts_and_quiet_hours(text: str, expected: time | None) -> None:
    assert parse_clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("REMIND tue 10:30 GP", ("REMIND", "tue 10:30 GP")),
        ("remind  tue 10:30", ("REMIND", "tue 10:30")),
        ("/appts@night_owl_test_bot", ("/APPTS", "")),
        ("Journal.", ("JOURNAL", "")),
        ("drop 2", ("DROP", "2")),
    ],
)
def test_commands_are_the_first_word(text: str, expected: tuple[str, str]) -> None:
    assert split_command(text) == expected
