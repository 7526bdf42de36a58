"""Importing Meeting Guide JSON feeds and TSML CSV exports: all or nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from content.importer import import_meetings
from content.loader import DEFAULT_DATA_DIR, load_network
from content.meeting_types import Fellowship

FIXTURES = Path(__file__).parent / "fixtures" / "content"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def meeting_files(data_dir: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((data_dir / "meetings").glob("*"))}


def test_meeting_guide_feed_imports_with_fellowship_override(data_dir: Path) -> None:
    report = import_meetings(FIXTURES / "meeting-guide-feed.json", data_dir, Fellowship.NA)
    assert report.ok, [str(e) for e in report.errors]
    assert report.written_to == data_dir / "meetings" / "meeting-guide-feed.json"
    network = load_network(data_dir)
    by_slug = {m.slug: m for m in network.meetings}
    us = by_slug["4211"]  # integer slug becomes a string
    assert (us.fellowship, us.day, us.timezone) == (Fellowship.NA, (1,), "America/New_York")
    assert us.formatted_address == "123 Main St, Springfield, MA 01103, USA"
    uk = by_slug["halifax-friday-reflections"]
    assert uk.day == (2, 5) and uk.type_words == ("closed meeting: only for addicts", "women only")
    # no coordinates in the feed: filled from the HX1 postcode district
    assert (uk.latitude, uk.longitude) == (53.72107, -1.87163)
    online = by_slug["night-watch-online"]
    assert online.is_online and not online.is_in_person


def test_feed_fellowship_field_is_used_without_override(data_dir: Path, tmp_path: Path) -> None:
    feed = json.loads((FIXTURES / "meeting-guide-feed.json").read_text())
    for row in feed:
        row["fellowship"] = "al anon"
    source = tmp_path / "alanon.json"
    source.write_text(json.dumps(feed))
    report = import_meetings(source, data_dir)
    assert report.ok
    assert {m.fellowship for m in report.meetings} == {Fellowship.AL_ANON}


def test_broken_feed_reports_every_row_and_applies_nothing(data_dir: Path) -> None:
    before = meeting_files(data_dir)
    source = FIXTURES / "meeting-guide-broken.json"
    report = import_meetings(source, data_dir, Fellowship.AA)
    assert not report.ok and report.written_to is None
    assert [str(e).removeprefix(f"{source}:") for e in report.errors] == [
        "10: item 2: field 'day': must be 0 (Sunday) to 6 (Saturday), or a list of those; got 9",
        "18: item 3: field 'day': must be 0 (Sunday) to 6 (Saturday), or a list of those; "
        "got 'Funday'",
        "18: item 3: field 'time': time '25:99' must be HH:MM, 24-hour (e.g. 19:30)",
        "26: item 4: field 'name': is missing",
        "32: item 5: an in-person meeting needs latitude and longitude "
        "(or conference_url / conference_phone if it is online)",
        "40: item 6: field 'slug': 'fine-meeting' is used twice (also item 1)",
        "48: item 7: field 'timezone': unknown time zone 'Europe/Narnia' (e.g. Europe/London)",
    ]
    assert meeting_files(data_dir) == before


def test_missing_fellowship_is_a_row_error(data_dir: Path) -> None:
    report = import_meetings(FIXTURES / "meeting-guide-feed.json", data_dir)
    assert [e.field for e in report.errors] == ["fellowship"] * 3
    assert "use --fellowship" in str(report.errors[0])


def test_csv_export_imports(data_dir: Path) -> None:
    report = import_meetings(FIXTURES / "tsml-export.csv", data_dir, Fellowship.AA)
    assert report.ok, [str(e) for e in report.errors]
    by_slug = {m.slug: m for m in load_network(data_dir).meetings}
    hove = by_slug["hove-monday-step"]
    assert (hove.day, hove.time, hove.end_time, hove.types) == ((1,), "19:30", "21:00", ("O", "ST"))
    springfield = by_slug["springfield-saturday-6-10-00"]  # no slug column value: made one
    assert springfield.types == ("C", "W") and springfield.state == "MA"
    assert (
        by_slug["worthing-online-step"].conference_url == "https://meet.example.org/worthing-step"
    )


def test_broken_csv_reports_rows(data_dir: Path) -> None:
    before = meeting_files(data_dir)
    source = FIXTURES / "tsml-broken.csv"
    report = import_meetings(source, data_dir, Fellowship.NA)
    assert [str(e).removeprefix(f"{source}:") for e in report.errors] == [
        "3: row 3: field 'time': time '7pm-ish' must be HH:MM, 24-hour (e.g. 19:30)",
        "4: row 4: field 'day': must be 0 (Sunday) to 6 (Saturday), or a list of those; "
        "got 'Someday'",
    ]
    assert meeting_files(data_dir) == before


def test_slug_clash_with_existing_content_applies_nothing(data_dir: Path, tmp_path: Path) -> None:
    source = tmp_path / "clash.json"
    source.write_text(
        json.dumps(
            [
                {
                    "name": "Copy",
                    "slug": "ws-aa-bognor-sun",
                    "day": 0,
                    "time": "19:00",
                    "latitude": 50.78,
                    "longitude": -0.67,
                }
            ]
        )
    )
    before = meeting_files(data_dir)
    report = import_meetings(source, data_dir, Fellowship.AA)
    assert [str(e) for e in report.errors] == [
        "clash.json: field 'slug': 'ws-aa-bognor-sun' is already used in sample-west-sussex.json"
    ]
    assert meeting_files(data_dir) == before


def test_reimport_replaces_the_same_file(data_dir: Path) -> None:
    source = FIXTURES / "tsml-export.csv"
    assert import_meetings(source, data_dir, Fellowship.AA).ok
    assert import_meetings(source, data_dir, Fellowship.NA).ok
    fellowships = {
        m.fellowship for m in load_network(data_dir).meetings if m.slug == "hove-monday-step"
    }
    assert fellowships == {Fellowship.NA}
