"""Content files are validated as a whole; a bad edit never replaces live content."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from content.errors import ContentError
from content.loader import DEFAULT_DATA_DIR, ContentStore, load_network


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_shipped_content_loads() -> None:
    network = load_network()
    assert len(network.meetings) == 48
    assert {m.fellowship.value for m in network.meetings} == {"AA", "NA", "CA", "SMART", "Al-Anon"}
    assert len(network.places.outcodes) == 2865
    assert network.places.town("Bognor") == network.places.town("Bognor Regis")
    assert network.areas == ("Brighton and Hove", "Calderdale", "West Sussex")
    assert all("(sample)" in m.name for m in network.meetings)
    assert all("(sample)" in s.name for s in network.services)


def test_outcodes_travel_with_their_attribution() -> None:
    readme = (DEFAULT_DATA_DIR / "README.md").read_text()
    assert "Contains OS data © Crown copyright and database right." in readme
    assert "Contains Royal Mail data © Royal Mail copyright and database right." in readme
    assert "Open Government Licence v3.0" in readme


def test_bad_service_keeps_previous_content_live(data_dir: Path) -> None:
    store = ContentStore(data_dir)
    live = store.network
    services = data_dir / "services.toml"
    edit(services, 'tue = "13:00-16:00"', 'tue = "1pm till 4"')
    with pytest.raises(ContentError) as caught:
        store.reload()
    assert store.network is live
    problem = caught.value.first
    line = services.read_text().splitlines().index('tue = "1pm till 4"') + 1
    assert (problem.file, problem.line, problem.field) == (services, line, "hours.tue")
    assert str(caught.value) == (
        f"{services}:{line}: service 'ws-crawley-clinic': field 'hours.tue': opening hours "
        "'1pm till 4' must look like '09:00-17:00', '09:00-12:00, 14:00-17:00', "
        "'closed' or '24 hours'"
    )


def test_bad_meeting_names_file_line_and_field(data_dir: Path) -> None:
    store = ContentStore(data_dir)
    live = store.network
    path = data_dir / "meetings" / "sample-calderdale.json"
    meetings = json.loads(path.read_text())
    meetings[2]["time"] = "7pm"
    meetings[4]["fellowship"] = "Narcotics"
    path.write_text(json.dumps(meetings, indent=2))
    with pytest.raises(ContentError) as caught:
        store.reload()
    assert store.network is live
    lines = path.read_text().splitlines()
    time_line = lines.index('    "time": "7pm",') + 1
    fellowship_line = lines.index('    "fellowship": "Narcotics",') + 1
    assert [(p.line, p.field, p.record) for p in caught.value.problems] == [
        (time_line, "time", "meeting 'cd-na-halifax-sat'"),
        (fellowship_line, "fellowship", "meeting 'cd-ca-halifax-fri-late'"),
    ]
    assert str(caught.value).endswith("(and 1 more)")


def test_typo_in_field_name_is_refused(data_dir: Path) -> None:
    edit(data_dir / "towns.toml", 'aliases = ["Bognor"]', 'alias = ["Bognor"]')
    with pytest.raises(
        ContentError, match=r"towns.toml:\d+: town #4: field 'alias': is not a known"
    ):
        load_network(data_dir)


def test_duplicate_slug_across_files(data_dir: Path) -> None:
    edit(
        data_dir / "meetings" / "sample-brighton.json",
        '"slug": "bh-ca-kemptown-wed"',
        '"slug": "ws-aa-bognor-sun"',
    )
    with pytest.raises(ContentError, match="'ws-aa-bognor-sun' is also used in"):
        load_network(data_dir)


def test_crisis_card_needs_a_default(data_dir: Path) -> None:
    edit(data_dir / "crisis.toml", 'region = "UK"', 'region = "UK"\nareas = ["West Sussex"]')
    with pytest.raises(ContentError, match="needs exactly one card without areas"):
        load_network(data_dir)


def test_broken_outcodes_row_is_named(data_dir: Path) -> None:
    edit(data_dir / "uk-outcodes.csv", "BN1,50.84258", "BN1,north")
    with pytest.raises(ContentError, match=r"uk-outcodes.csv:\d+: row \d+: field 'latitude'"):
        load_network(data_dir)


async def test_reload_async_swaps_in_good_content(data_dir: Path) -> None:
    store = ContentStore(data_dir)
    edit(
        data_dir / "meetings" / "sample-brighton.json",
        "Kemptown CA (sample)",
        "Kemptown CA 2 (sample)",
    )
    network = await store.reload_async()
    assert store.network is network
    assert "Kemptown CA 2 (sample)" in {m.name for m in network.meetings}
