"""The query table: real-looking texts against the SAMPLE content at fixed times.

Expectations were worked out by hand from the sample files: the schedule in
content/data/meetings/*.json and the distances from each town centre to each venue
(15-mile radius; ties within 0.1 mile go to the sooner meeting; online meetings
follow in-person ones, soonest first). Reference week: Mon 15 to Sun 21 June 2026
(BST), plus the clock changes on 29 March and 25 October 2026.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pytest

from bot.segments import count_segments
from content import wording
from content.formatting import (
    DetailsRequest,
    PageRequest,
    format_details,
    format_sms,
    format_telegram,
    parse_callback,
)
from content.query import LookupKind, decode_query, encode_query, parse_query
from content.search import LookupResult, pick, search
from tests.test_content_support import sample_network, uk, utc

TUE_EVENING = uk("2026-06-16 18:30")


@dataclass(frozen=True)
class Case:
    text: str
    now: datetime
    expected: tuple[str, ...]  # slugs of the first items, in order
    count: int | None = None  # exact matches (0 = alternatives shown)
    suggestion: str | None = None
    location: tuple[float, float] | None = None

    def __str__(self) -> str:
        return f"{self.text!r}@{self.now:%a %d %b %H:%MZ}"


ONLY_ONLINE_CRAWLEY = wording.ONLY_ONLINE.format(place="Crawley")
ONLY_ONLINE_BRIGHTON = wording.ONLY_ONLINE.format(place="Brighton")
AA_NEAR_CHICHESTER = (
    "ws-aa-chichester-women-fri",  # same venue as Sunday's: Fri comes first
    "ws-aa-chichester-sun",
    "ws-aa-bognor-thu",  # 5.7 mi, Thu before Sun
    "ws-aa-bognor-sun",
    "ws-aa-littlehampton-sun",  # 10.5 mi
    "ws-aa-online-night-owls",
    "cd-aa-online-early-birds",
)
AA_SUNDAY_BOGNOR = (
    "ws-aa-bognor-sun",  # 0.1 mi
    "ws-aa-chichester-sun",  # 5.8 mi
    "ws-aa-littlehampton-sun",  # 6.1 mi
    "ws-aa-worthing-sun-late",  # 13.5 mi
    "cd-aa-online-early-birds",  # online, Sun 07:00
    "ws-aa-online-night-owls",  # online, Sun 23:30
)
NA_NEAR_BN1 = (
    "bh-na-brighton-small-hours",  # 1.3 mi
    "bh-na-kemptown-sun",  # 1.8 mi
    "ws-na-worthing-fri",  # 10.3 mi
    "ws-na-online-small-hours",
)
WOMEN_NEAR_HALIFAX = (
    "cd-aa-halifax-women-wed",
    "cd-aa-hebden-bridge-women-sat",
    "ws-smart-online-women",
)
CA_NEAR_CRAWLEY = ("ws-ca-crawley-thu", "ws-ca-haywards-heath-sat")
FOOD_NEAR_BOGNOR = ("ws-bognor-larder", "ws-bognor-soup", "ws-chichester-food-share")
NA_NEAR_TODMORDEN = ("cd-na-halifax-sat", "cd-na-elland-mon", "ws-na-online-small-hours")
CHICHESTER_CENTRE = (50.8365, -0.7792)

CASES = [
    # SMART / tonight / misspelt towns
    Case(
        "SMART tonight crawley", TUE_EVENING, ("ws-smart-crawley-tue", "ws-smart-online-women"), 2
    ),
    Case("smart tonight crawly", TUE_EVENING, ("ws-smart-crawley-tue", "ws-smart-online-women"), 2),
    Case("SMART TONITE CRAWLEY", TUE_EVENING, ("ws-smart-crawley-tue", "ws-smart-online-women"), 2),
    Case("smrt tonight crawley", TUE_EVENING, ("ws-smart-crawley-tue", "ws-smart-online-women"), 2),
    Case(
        "crawley smart tonight", TUE_EVENING, ("ws-smart-crawley-tue", "ws-smart-online-women"), 2
    ),
    Case("SMART tonight crawley", uk("2026-06-19 21:00"), ("ws-smart-crawley-fri-late",), 1),
    # after midnight: the 00:30 Saturday meeting belongs to Friday night
    Case(
        "AA tonight crawley",
        uk("2026-06-19 21:00"),
        ("ws-aa-crawley-night-owls", "ws-aa-online-night-owls"),
        2,
    ),
    Case("aa tonight crawley", uk("2026-06-20 00:10"), ("ws-aa-crawley-night-owls",), 1),
    Case(
        "meeting tonight crawley",
        uk("2026-06-20 01:00"),
        ("ws-na-online-small-hours",),
        1,
        ONLY_ONLINE_CRAWLEY,
    ),
    Case("na tonight", uk("2026-06-20 01:00"), ("ws-na-online-small-hours",), 1),
    # now = started in the last 30 minutes or starting in the next 60
    Case("meeting now", uk("2026-06-16 19:20"), ("ws-smart-online-women",), 1),
    Case(
        "meeting now crawley",
        uk("2026-06-16 19:20"),
        ("ws-smart-crawley-tue", "ws-alanon-crawley-tue", "ws-smart-online-women"),
        3,
    ),
    Case("meetings now crawley", uk("2026-06-16 18:20"), ("ws-smart-crawley-tue",), 1),
    Case("any meetings right now in crawley", uk("2026-06-16 18:20"), ("ws-smart-crawley-tue",), 1),
    # outcodes
    Case("NA near BN1", TUE_EVENING, NA_NEAR_BN1, 4),
    Case("na nr bn1", TUE_EVENING, NA_NEAR_BN1, 4),
    Case("NA near BN1 1AA", TUE_EVENING, NA_NEAR_BN1, 4),
    Case("narcotics anonymous bn1", TUE_EVENING, NA_NEAR_BN1, 4),
    Case("CA near RH10", TUE_EVENING, CA_NEAR_CRAWLEY, 2),
    Case("cocaine anonymous crawley", TUE_EVENING, CA_NEAR_CRAWLEY, 2),
    # weekdays: the coming one, or the rest of today
    Case("AA sunday bognor", TUE_EVENING, AA_SUNDAY_BOGNOR, 6),
    Case("aa sundy bognr", TUE_EVENING, AA_SUNDAY_BOGNOR, 6),
    Case("AA meetings on Sunday in Bognor Regis", TUE_EVENING, AA_SUNDAY_BOGNOR, 6),
    Case("a.a. sun bognor", TUE_EVENING, AA_SUNDAY_BOGNOR, 6),
    Case(
        "aa sunday bognor",
        uk("2026-06-21 12:00"),
        (
            "ws-aa-bognor-sun",
            "ws-aa-littlehampton-sun",
            "ws-aa-worthing-sun-late",
            "ws-aa-online-night-owls",
        ),
        4,
    ),
    Case(
        "aa brighouse sunday",
        TUE_EVENING,
        ("cd-aa-brighouse-sun", "cd-aa-online-early-birds", "ws-aa-online-night-owls"),
        3,
    ),
    Case(
        "mtgs sowerby bridge friday",
        TUE_EVENING,
        (
            "cd-aa-sowerby-bridge-fri",
            "cd-ca-halifax-fri-late",
            "ws-na-online-small-hours",
            "cd-aa-online-early-birds",
            "ws-aa-online-night-owls",
        ),
        5,
    ),
    # women's meetings
    Case("women's meeting halifax", TUE_EVENING, WOMEN_NEAR_HALIFAX, 3),
    Case("womens meeting halifx", TUE_EVENING, WOMEN_NEAR_HALIFAX, 3),
    Case("Women’s meetings Halifax", TUE_EVENING, WOMEN_NEAR_HALIFAX, 3),
    Case(
        "ladies meetings hebden bridge",
        TUE_EVENING,
        ("cd-aa-hebden-bridge-women-sat", "cd-aa-halifax-women-wed", "ws-smart-online-women"),
        3,
    ),
    # online
    Case("online NA", TUE_EVENING, ("ws-na-online-small-hours",), 1),
    Case(
        "online meetings",
        TUE_EVENING,
        (
            "ws-smart-online-women",
            "ws-aa-online-night-owls",
            "ws-na-online-small-hours",
            "cd-aa-online-early-birds",
        ),
        4,
    ),
    Case("zoom aa", TUE_EVENING, ("ws-aa-online-night-owls", "cd-aa-online-early-birds"), 2),
    Case("online smart women", TUE_EVENING, ("ws-smart-online-women",), 1),
    # tomorrow
    Case(
        "aa meetings in worthing tomorrow",
        TUE_EVENING,
        (
            "ws-aa-worthing-lunch",
            "ws-aa-burgess-hill-wed",
            "cd-aa-online-early-birds",
            "ws-aa-online-night-owls",
        ),
        4,
    ),
    Case(
        "AA tomorrow worthing",
        uk("2026-06-20 01:00"),  # Saturday 1am: tomorrow is Sunday
        (
            "ws-aa-worthing-sun-late",
            "ws-aa-littlehampton-sun",
            "ws-aa-bognor-sun",
            "cd-aa-online-early-birds",
            "ws-aa-online-night-owls",
        ),
        5,
    ),
    Case(
        "meetings near BN2 tomorrow",
        uk("2026-06-20 20:00"),
        (
            "bh-na-kemptown-sun",
            "bh-na-brighton-small-hours",
            "ws-aa-worthing-sun-late",
            "ws-na-online-small-hours",
            "cd-aa-online-early-birds",
            "ws-aa-online-night-owls",
        ),
        6,
    ),
    # other fellowships and towns
    Case(
        "al-anon crawley", TUE_EVENING, ("ws-alanon-crawley-tue", "ws-alanon-haywards-heath-mon"), 2
    ),
    Case("alanon halifax", TUE_EVENING, ("cd-alanon-halifax-thu",), 1),
    Case("na todmorden", TUE_EVENING, NA_NEAR_TODMORDEN, 3),
    Case("na tod", TUE_EVENING, NA_NEAR_TODMORDEN, 3),
    Case(
        "aa hebden",
        TUE_EVENING,
        (
            "cd-aa-hebden-bridge-women-sat",
            "cd-aa-todmorden-tue",
            "cd-aa-sowerby-bridge-fri",
            "cd-aa-halifax-women-wed",
            "cd-aa-halifax-mon",
            "cd-aa-brighouse-sun",
            "ws-aa-online-night-owls",
            "cd-aa-online-early-birds",
        ),
        8,
    ),
    Case(
        "meetings elland tonight",
        uk("2026-06-15 18:00"),
        (
            "cd-na-elland-mon",
            "cd-aa-halifax-mon",
            "ws-aa-online-night-owls",
            "ws-na-online-small-hours",
        ),
        4,
    ),
    Case(
        "meeting tonight brighton",
        uk("2026-06-20 22:00"),
        (
            "bh-aa-brighton-late",
            "bh-na-brighton-small-hours",
            "ws-aa-online-night-owls",
            "ws-na-online-small-hours",
        ),
        4,
    ),
    Case(
        "NA saturday brighton",
        TUE_EVENING,
        ("ws-na-online-small-hours",),
        1,
        ONLY_ONLINE_BRIGHTON,
    ),
    # a shared location (Telegram) counts as the place
    Case("aa near me", TUE_EVENING, AA_NEAR_CHICHESTER, 7, location=CHICHESTER_CENTRE),
    Case("closest aa meeting", TUE_EVENING, AA_NEAR_CHICHESTER, 7, location=CHICHESTER_CENTRE),
    # services
    Case("food bognor", TUE_EVENING, FOOD_NEAR_BOGNOR, 3),
    Case("foodbank bognor regis", TUE_EVENING, FOOD_NEAR_BOGNOR, 3),
    Case("food sunday bognor", TUE_EVENING, ("ws-bognor-soup",), 1),
    Case("housing halifax", TUE_EVENING, ("cd-night-shelter",), 1),
    Case("homeless shelter halifax", TUE_EVENING, ("cd-night-shelter",), 1),
    Case("detox worthing", TUE_EVENING, ("ws-worthing-drug-alcohol",), 1),
    Case("gp crawley", TUE_EVENING, ("ws-crawley-clinic",), 1),
    Case("recovery cafe halifax", TUE_EVENING, ("cd-halifax-cafe",), 1),
    Case("cafe worthing saturday", TUE_EVENING, ("ws-worthing-cafe",), 1),
    Case("cafe worthing sunday", TUE_EVENING, ("bh-brighton-cafe",), 1),  # Brighton is 10 mi
    Case("family support crawley", TUE_EVENING, ("ws-crawley-families",), 1),
    Case("food sunday halifax", TUE_EVENING, ("cd-todmorden-fridge",), 1),  # 9.6 mi, daily
    # no match: say so and offer the nearest alternative
    Case(
        "SMART sunday crawley",
        TUE_EVENING,
        ("ws-smart-crawley-tue", "ws-smart-online-women", "ws-smart-east-grinstead-wed"),
        0,
        wording.NEXT_ONES,
    ),
    Case(
        "smart meeting bognor tomorrow",
        TUE_EVENING,
        ("ws-smart-online-women", "ws-smart-bognor-mon"),
        0,
        wording.NEXT_ONES,
    ),
    Case(
        "food sunday brighton",
        TUE_EVENING,
        ("bh-kemptown-food",),  # nothing open on Sunday: its next opening instead
        0,
        wording.NEXT_ONES,
    ),
    Case(
        "aa in narnia",
        TUE_EVENING,
        ("ws-aa-online-night-owls", "cd-aa-online-early-birds"),
        0,
        wording.ONLINE_INSTEAD,
    ),
    Case(
        "aa near zz99",
        TUE_EVENING,
        ("ws-aa-online-night-owls", "cd-aa-online-early-birds"),
        0,
        wording.ONLINE_INSTEAD,
    ),
    # the clocks go forward: 01:00 GMT on Sun 29 March 2026 becomes 02:00 BST
    Case("meeting now", utc("2026-03-29 00:50"), ("ws-na-online-small-hours",), 1),
    Case(
        "meeting now brighton",
        utc("2026-03-29 00:50"),
        ("bh-na-brighton-small-hours", "ws-na-online-small-hours"),
        2,
    ),
    Case("na tonight", utc("2026-03-28 22:00"), ("ws-na-online-small-hours",), 1),
    Case(
        "na tonight",
        utc("2026-03-29 01:30"),  # 02:30 BST: tonight ends at 03:00 BST = 02:00 UTC
        ("ws-na-online-small-hours",),
        0,
        wording.NEXT_ONES,
    ),
    # the clocks go back: 02:00 BST on Sun 25 October 2026 becomes 01:00 GMT
    Case(
        "meeting now",
        utc("2026-10-25 00:40"),  # 01:40 BST: the 02:00 GMT meeting is 80 minutes away
        ("ws-na-online-small-hours", "cd-aa-online-early-birds"),
        0,
        wording.NEXT_ONES,
    ),
    Case(
        "meeting now brighton",
        utc("2026-10-25 00:40"),
        (
            "ws-na-online-small-hours",
            "cd-aa-online-early-birds",
            "bh-na-kemptown-sun",
            "ws-aa-worthing-sun-late",
        ),
        0,
        wording.NEXT_ONES,
    ),
    Case(
        "aa tonight crawley",
        utc("2026-10-24 22:00"),
        ("ws-aa-online-night-owls",),
        1,
        ONLY_ONLINE_CRAWLEY,
    ),
    Case("na tonight", utc("2026-10-24 22:00"), ("ws-na-online-small-hours",), 1),
]


def run(case: Case) -> LookupResult:
    network = sample_network()
    query = parse_query(case.text, network.places)
    assert query is not None, f"{case.text!r} should be a lookup"
    return search(network, query, case.now, case.location)


def slugs(result: LookupResult) -> tuple[str, ...]:
    return tuple(hit.entry.slug for hit in result.items)


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=str)
def test_query_table(case: Case) -> None:
    result = run(case)
    assert slugs(result)[: len(case.expected)] == case.expected
    if case.count is not None:
        assert result.count == case.count
    if case.suggestion is not None:
        assert result.suggestion == case.suggestion


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_sms_answer_fits_two_segments(case: Case) -> None:
    result = run(case)
    for page in (0, 1):
        text = format_sms(result, page)
        assert count_segments(text) <= 2, text
    if result.items:
        details = format_details(result.items[0])
        assert count_segments(details) <= 2, details


@pytest.mark.parametrize("case", CASES, ids=str)
def test_sample_data_is_marked_in_every_list(case: Case) -> None:
    text = format_sms(run(case))
    listed = [line for line in text.splitlines() if line[:1].isdigit()]
    assert all("(sample)" in line or "(samp" in line for line in listed), text


NOT_LOOKUPS = [
    "I feel awful tonight",
    "can someone talk to me",
    "hi",
    "REMIND tue 10:30 GP",
    "PROMPTS 9am",
    "DONE",
    "yes",
    "help",
    "HELP me",
    "STOP",
    "start",
    "MORE",
    "1",
    "thanks",
    "I'm in crisis",
    "im at a meeting now",
    "I relapsed tonight",
    "I want to use tonight",
    "just got back from my meeting",
    "my sponsor isn't answering",
    "I need help",
    "crawley",
    "tonight",
    "is anyone there?",
    "I can't stop drinking",
    "feeling low near crawley",
    "going to a meeting tonight in crawley, wish me luck",
    "sat here alone",
    "care",
    "",
    "   ",
    "online",
    "women",
    "aa " * 20,
]


@pytest.mark.parametrize("text", NOT_LOOKUPS)
def test_not_a_lookup(text: str) -> None:
    assert parse_query(text, sample_network().places) is None


def test_parsed_meaning() -> None:
    places = sample_network().places
    query = parse_query("women's SMART tonight crawly", places)
    assert query is not None
    assert query.kind is LookupKind.MEETINGS
    assert [f.value for f in query.fellowships] == ["SMART"]
    assert query.place is not None and query.place.name == "Crawley"
    assert query.when is not None and query.when.kind == "tonight"
    assert parse_query("Bognor food", places) == parse_query("food in bognor regis", places)


def test_crisis_returns_the_card() -> None:
    network = sample_network()
    for text in ("crisis", "CRISIS", "helpline", "crisis crawley", "samaritans"):
        query = parse_query(text, network.places)
        assert query is not None and query.kind is LookupKind.CRISIS
        result = search(network, query, TUE_EVENING)
        sms = format_sms(result)
        assert count_segments(sms) <= 2
        for number in (
            "999",
            "18000",
            "116 123",
            "SHOUT to 85258",
            "111, option 2",
            "0300 123 6600",
        ):
            assert number in sms


def test_result_exposes_what_coordinators_log() -> None:
    result = run(Case("SMART tonight crawly", TUE_EVENING, ()))
    assert (result.kind, result.place, result.count) == (LookupKind.MEETINGS, "Crawley", 2)
    shared = run(Case("aa near me", TUE_EVENING, (), location=CHICHESTER_CENTRE))
    assert shared.place == "shared location"  # never the person's coordinates


def test_sms_shape_paging_and_numbers() -> None:
    result = run(Case("AA sunday bognor", TUE_EVENING, ()))
    first = format_sms(result).splitlines()
    assert first[0] == "AA meetings on Sunday near Bognor Regis:"
    assert first[1] == "1 AA Sun 19:00 Bognor Community Centre (sample), <1mi"
    assert first[2] == "2 AA Sun 11:00 St Paul's Rooms (sample), 6mi"
    assert "Reply 1-3 for details. More: reply MORE" in first
    second = format_sms(result, page=1)
    assert "4 AA Sun 21:30 Worthing Seafront Centre (sample), 14mi" in second
    assert "Reply 4-6 for details." in second and "MORE" not in second
    picked = pick(result, 4)
    assert picked is not None and picked.entry.slug == "ws-aa-worthing-sun-late"
    assert pick(result, 7) is None


def test_no_match_says_what_was_understood() -> None:
    text = format_sms(run(Case("SMART sunday crawley", TUE_EVENING, ())))
    assert text.startswith("No SMART meetings on Sunday near Crawley.\nHere are the next ones:")


def test_details_speak_plain_words() -> None:
    result = run(Case("women's meeting halifax", TUE_EVENING, ()))
    details = format_details(result.items[0])
    assert "women only" in details and "Closed meeting" in details
    assert "Wed 19:00-20:00" in details
    online = format_details(run(Case("online NA", TUE_EVENING, ())).items[0])
    assert "https://meet.example.org/ws-na-online-small-hours" in online
    assert "01632 960000" in online


def test_telegram_pages_and_callbacks() -> None:
    network = sample_network()
    result = run(Case("aa hebden", TUE_EVENING, ()))
    text, buttons = format_telegram(result)
    assert text.count("\n") >= 5
    details_row, paging_row = buttons
    assert [label for label, _ in details_row] == ["1", "2", "3", "4", "5"]
    assert [label for label, _ in paging_row] == [wording.MORE_BUTTON]
    for row in buttons:
        for _, data in row:
            assert len(data.encode()) <= 64
    request = parse_callback(details_row[0][1], network)
    assert isinstance(request, DetailsRequest)
    assert request.entry.slug == "cd-aa-hebden-bridge-women-sat"
    page = parse_callback(paging_row[0][1], network)
    assert isinstance(page, PageRequest) and page.page == 1
    again = search(network, page.query, TUE_EVENING)
    assert slugs(again) == slugs(result)
    _, second_buttons = format_telegram(again, page=1)
    assert [label for label, _ in second_buttons[-1]] == [wording.BACK_BUTTON]
    assert parse_callback("other:d:x", network) is None


def test_query_code_round_trips() -> None:
    places = sample_network().places
    for text in ("women's smart tonight crawley", "food sunday bognor", "online na", "aa bn1"):
        query = parse_query(text, places)
        assert query is not None
        assert decode_query(encode_query(query), places) == query
