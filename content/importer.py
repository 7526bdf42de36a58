"""Import a Meeting Guide JSON feed or a TSML CSV export into the content data.

All or nothing: every row is checked, every problem is reported with its row and
field, and the meetings file is written only if all rows are valid and the whole
data directory still loads afterwards. Re-importing the same file replaces the
meetings it brought in before (the output is named after the input file).
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from content.errors import ContentError, ContentProblem
from content.loader import (
    MEETINGS_DIR,
    json_array_lines,
    load_network,
    read_meetings_file,
    validation_problems,
)
from content.meeting_types import Fellowship, code_for_name
from content.models import WEEKDAY_NAMES, Meeting
from content.places import Gazetteer, normalise_name

KNOWN_FIELDS = frozenset(Meeting.model_fields)
UK_POSTCODE = re.compile(r"\b([A-Z]{1,2}\d[A-Z\d]?)\s*\d[A-Z]{2}\b", re.IGNORECASE)
_TIME = re.compile(r"^(\d{1,2})[:.](\d{2})(?::\d{2})?\s*([ap]\.?m\.?)?$", re.IGNORECASE)
_DAY_NAMES = {name.casefold(): i for i, name in enumerate(WEEKDAY_NAMES)}


@dataclass(frozen=True)
class ImportReport:
    source: Path
    meetings: tuple[Meeting, ...]
    errors: tuple[ContentProblem, ...]
    written_to: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Row:
    number: int  # CSV line number, or position in a JSON array (1-based)
    line: int
    data: dict[str, Any]
    label: str  # "row 4" / "item 2"


def slugify(text: str) -> str:
    return normalise_name(text).replace(" ", "-") or "meeting"


def _day(value: Any) -> Any:
    """0-6, "3", "Wednesday", "Wed", or a list / comma list of those."""
    if isinstance(value, list):
        return [_day(v) for v in value]
    if isinstance(value, str):
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if len(parts) > 1:
            return [_day(p) for p in parts]
        text = value.strip()
        if text.isdigit():
            return int(text)
        return _DAY_NAMES.get(text[:3].casefold(), text)
    return value


def _time(value: Any) -> Any:
    """ "7:30 pm", "19:30:00", "7.30" -> "19:30"; anything else is left for validation."""
    if not isinstance(value, str):
        return value
    match = _TIME.match(value.strip())
    if not match:
        return value
    hours, minutes, meridiem = int(match.group(1)), match.group(2), match.group(3)
    if meridiem:
        hours = hours % 12 + (12 if meridiem.casefold().startswith("p") else 0)
    return f"{hours:02d}:{minutes}"


def _types(value: Any, fellowship: Fellowship | None) -> Any:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    codes = []
    for item in (str(i).strip() for i in items):
        if item:
            code = code_for_name(fellowship, item) if fellowship else None
            codes.append(code or item.upper())
    return codes


def _coordinates_from_postcode(data: dict[str, Any], places: Gazetteer) -> None:
    """Fill missing coordinates from a UK postcode's district centre."""
    if (
        data.get("latitude") is not None
        or data.get("conference_url")
        or data.get("conference_phone")
    ):
        return
    for text in (data.get("postal_code"), data.get("formatted_address"), data.get("address")):
        match = UK_POSTCODE.search(str(text or ""))
        place = places.outcode(match.group(1)) if match else None
        if place is not None:
            data["latitude"], data["longitude"] = place.latitude, place.longitude
            return


def normalise_row(
    raw: dict[str, Any], fellowship: Fellowship | None, places: Gazetteer
) -> dict[str, Any]:
    """Feed row -> Meeting fields: spec spellings accepted, blanks dropped, extras ignored."""
    data = {
        key: value
        for key, value in raw.items()
        if key in KNOWN_FIELDS and value not in ("", None, [])
    }
    if fellowship is not None:
        data["fellowship"] = fellowship
    row_fellowship = data.get("fellowship")
    if isinstance(row_fellowship, str):
        try:
            row_fellowship = Fellowship.parse(row_fellowship)
        except ValueError:
            row_fellowship = None
    if "day" in data:
        data["day"] = _day(data["day"])
    for key in ("time", "end_time"):
        if key in data:
            data[key] = _time(data[key])
    if "types" in data:
        data["types"] = _types(data["types"], row_fellowship)
    if isinstance(data.get("regions"), str):
        data["regions"] = [data["regions"]]
    if isinstance(data.get("notes"), list):
        data["notes"] = "\n".join(map(str, data["notes"]))
    if "slug" not in data and "name" in data:
        data["slug"] = slugify(f"{data['name']} {data.get('day', '')} {data.get('time', '')}")
    _coordinates_from_postcode(data, places)
    return data


def read_rows(path: Path) -> list[_Row]:
    """Rows of a Meeting Guide JSON feed (array) or a TSML CSV export."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.casefold() == ".csv":
        reader = csv.DictReader(text.splitlines())
        header = {name: slugify(name).replace("-", "_") for name in reader.fieldnames or []}
        return [
            _Row(
                reader.line_num,
                reader.line_num,
                {header[k]: v for k, v in row.items() if k},
                f"row {reader.line_num}",
            )
            for row in reader
        ]
    raw = json.loads(text)
    if isinstance(raw, dict) and isinstance(raw.get("meetings"), list):
        raw = raw["meetings"]
    if not isinstance(raw, list):
        raise ValueError("a Meeting Guide feed is a JSON array of meetings")
    lines = [line for line, _, _ in json_array_lines(text)]
    return [
        _Row(i, lines[i - 1], item if isinstance(item, dict) else {}, f"item {i}")
        for i, item in enumerate(raw, start=1)
    ]


def _same_line(line: int, _field: str | None) -> int:
    return line  # a feed row is reported at its own line, whichever field


def read_feed(
    path: Path, places: Gazetteer, fellowship: Fellowship | None = None
) -> tuple[list[Meeting], list[ContentProblem]]:
    """Validate every row; returns the meetings and one problem per bad field."""
    try:
        rows = read_rows(path)
    except (ValueError, UnicodeDecodeError, csv.Error) as exc:
        return [], [ContentProblem(path, getattr(exc, "lineno", None), None, f"can't read: {exc}")]
    meetings: list[Meeting] = []
    problems: list[ContentProblem] = []
    first_row_of: dict[str, str] = {}
    for row in rows:
        data = normalise_row(row.data, fellowship, places)
        if "fellowship" not in data:
            problems.append(
                ContentProblem(
                    path, row.line, "fellowship", "is missing (use --fellowship)", row.label
                )
            )
            continue
        try:
            meeting = Meeting.model_validate(data)
        except ValidationError as exc:
            problems += validation_problems(exc, path, row.label, partial(_same_line, row.line))
            continue
        if meeting.slug in first_row_of:
            problems.append(
                ContentProblem(
                    path,
                    row.line,
                    "slug",
                    f"'{meeting.slug}' is used twice (also {first_row_of[meeting.slug]})",
                    row.label,
                )
            )
            continue
        first_row_of[meeting.slug] = row.label
        meetings.append(meeting)
    return meetings, problems


def _slug_clashes(
    meetings: Iterable[Meeting], target: Path, data_dir: Path
) -> list[ContentProblem]:
    ours = {m.slug for m in meetings}
    problems: list[ContentProblem] = []
    for other in sorted((data_dir / MEETINGS_DIR).glob("*.json")):
        if other == target:
            continue
        for meeting in read_meetings_file(other, []):
            if meeting.slug in ours:
                message = f"'{meeting.slug}' is already used in {other.name}"
                problems.append(ContentProblem(target.name, None, "slug", message))
    return problems


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def import_meetings(
    source: Path, data_dir: Path, fellowship: Fellowship | None = None
) -> ImportReport:
    """Check ``source`` and, only if every row is valid, write it into ``data_dir``."""
    try:
        places = load_network(data_dir).places
    except ContentError as exc:
        return ImportReport(source, (), exc.problems)
    meetings, problems = read_feed(source, places, fellowship)
    target = data_dir / MEETINGS_DIR / f"{slugify(source.stem)}.json"
    if not problems and not meetings:
        problems.append(ContentProblem(source, None, None, "has no meetings"))
    if not problems:
        problems = _slug_clashes(meetings, target, data_dir)
    if problems:
        return ImportReport(source, tuple(meetings), tuple(problems))

    previous = target.read_text(encoding="utf-8") if target.exists() else None
    records = [m.model_dump(mode="json", exclude_none=True) for m in meetings]
    _write_atomically(target, json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    try:
        load_network(data_dir)
    except ContentError as exc:  # keep all-or-nothing even if something else clashes
        if previous is None:
            target.unlink()
        else:
            _write_atomically(target, previous)
        return ImportReport(source, tuple(meetings), exc.problems)
    return ImportReport(source, tuple(meetings), (), target)
