"""The index and its early stop give exactly what a plain scan of every meeting gives."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

import pytest

from content.meeting_types import Fellowship
from content.models import Meeting, zone
from content.network import RecoveryNetwork
from content.places import haversine_miles
from content.query import parse_query
from content.search import COUNT_CAP, DEFAULT_RADIUS_MILES, MAX_ITEMS, search
from tests.test_content_support import sample_network, uk

BN1 = (50.84258, -0.13932)


@pytest.fixture(scope="module")
def dense() -> RecoveryNetwork:
    """3,000 meetings scattered within about 25 miles of BN1 (many on the same spot)."""
    rng = random.Random(11)
    fellowships = ["AA", "AA", "NA", "CA", "SMART", "Al-Anon"]
    spots = [
        (BN1[0] + rng.uniform(-0.35, 0.35), BN1[1] + rng.uniform(-0.5, 0.5)) for _ in range(900)
    ]
    meetings = []
    for i in range(3000):
        lat, lon = rng.choice(spots)
        meetings.append(
            Meeting(
                name=f"Meeting {rng.randrange(500):03d}",  # repeated names: slug breaks ties
                slug=f"m{i}",
                fellowship=rng.choice(fellowships),
                day=rng.sample(range(7), rng.choice((1, 1, 2))),
                time=f"{rng.randrange(24):02d}:{rng.choice((0, 30)):02d}",
                types=rng.sample(["O", "C", "W", "M"], 1),
                latitude=round(lat, 4),
                longitude=round(lon, 4),
            )
        )
    base = sample_network()
    return RecoveryNetwork.build(meetings, [], base.crisis_cards, [], {"BN1": BN1})


def next_start(meeting: Meeting, now: datetime, until: datetime) -> datetime | None:
    tz = zone(meeting.timezone)
    local = now.astimezone(tz)
    starts = []
    for offset in range(-1, 9):
        day = local.date() + timedelta(days=offset)
        if (day.weekday() + 1) % 7 in meeting.day:
            hours, minutes = map(int, meeting.time.split(":"))
            moment = datetime.combine(day, time(hours, minutes), tz)
            if now <= moment < until:
                starts.append(moment)
    return min(starts, default=None)


def brute_force(
    network: RecoveryNetwork, now: datetime, until: datetime, fellowship: str | None
) -> list[str]:
    rows = []
    for meeting in network.meetings:
        if fellowship and meeting.fellowship != Fellowship(fellowship):
            continue
        assert meeting.latitude is not None and meeting.longitude is not None
        miles = haversine_miles(*BN1, meeting.latitude, meeting.longitude)
        start = next_start(meeting, now, until)
        if miles <= DEFAULT_RADIUS_MILES and start is not None:
            rows.append((round(miles, 1), start, meeting.name, meeting.slug))
    rows.sort()
    return [slug for *_, slug in rows]


@pytest.mark.parametrize(
    ("text", "now", "hours", "fellowship"),
    [
        ("meetings near BN1", uk("2026-06-16 18:30"), 24 * 7, None),
        ("AA near BN1", uk("2026-06-20 23:10"), 24 * 7, "AA"),
        ("CA near BN1", uk("2026-03-28 21:00"), 24 * 7, "CA"),  # the clocks change
        ("meetings tonight BN1", uk("2026-06-16 22:00"), 5, None),
    ],
)
def test_index_matches_a_full_scan(
    dense: RecoveryNetwork, text: str, now: datetime, hours: int, fellowship: str | None
) -> None:
    query = parse_query(text, dense.places)
    assert query is not None
    result = search(dense, query, now)
    expected = brute_force(dense, now, now + timedelta(hours=hours), fellowship)
    assert [hit.entry.slug for hit in result.items] == expected[:MAX_ITEMS]
    assert result.count == min(len(expected), COUNT_CAP)
