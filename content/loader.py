"""Read and validate the content data directory, and keep the live copy.

Layout of a data directory (see ``content/data/README.md``)::

    meetings/*.json   Meeting Guide JSON arrays (one file per source or area)
    services.toml     [[service]] tables
    crisis.toml       [[card]] tables with [[card.lines]]
    towns.toml        [[town]] tables
    uk-outcodes.csv   outcode,latitude,longitude,postcodes

Every problem is reported with file, line and field. A load either validates as a
whole or raises :class:`ContentError`; :class:`ContentStore` only swaps in content
that loaded, so a bad edit never takes the live map down.
"""

from __future__ import annotations

import asyncio
import csv
import gc
import json
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from content.errors import ContentError, ContentProblem
from content.models import CrisisCard, Meeting, Service, Town
from content.network import RecoveryNetwork

DEFAULT_DATA_DIR = Path(__file__).with_name("data")
MEETINGS_DIR = "meetings"
SERVICES_FILE = "services.toml"
CRISIS_FILE = "crisis.toml"
TOWNS_FILE = "towns.toml"
OUTCODES_FILE = "uk-outcodes.csv"

RecordT = TypeVar("RecordT", bound=BaseModel)


def validation_problems(
    error: ValidationError,
    file: Path | str,
    record: str | None,
    line_of: Callable[[str | None], int | None],
) -> list[ContentProblem]:
    """One :class:`ContentProblem` per pydantic error, field named as ``a.b.0``."""
    problems = []
    for detail in error.errors():
        field = ".".join(str(part) for part in detail["loc"]) or None
        message = detail["msg"].removeprefix("Value error, ")
        if detail["type"] == "missing":
            message = "is missing"
        elif detail["type"] == "extra_forbidden":
            message = "is not a known field (typo?)"
        # The innermost named key ("tue" in hours.tue) is the line to point at.
        names = [str(part) for part in detail["loc"] if isinstance(part, str)]
        problems.append(
            ContentProblem(file, line_of(names[-1] if names else None), field, message, record)
        )
    return problems


# ---- JSON meetings ----------------------------------------------------------


def json_array_lines(text: str) -> list[tuple[int, int, int]]:
    """(line, start, end) of each element of a top-level JSON array, for error messages."""
    decoder = json.JSONDecoder()
    spans: list[tuple[int, int, int]] = []
    pos = text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return spans
        _, end = decoder.raw_decode(text, pos)
        spans.append((text.count("\n", 0, pos) + 1, pos, end))
        pos = end


def key_line(text: str, start: int, end: int, key: str | None, *, quoted: bool) -> int:
    """Line of ``key`` inside text[start:end], else of ``start``."""
    if key:
        pattern = rf'"{re.escape(key)}"\s*:' if quoted else rf"(?m)^\s*{re.escape(key)}\s*="
        found = re.compile(pattern).search(text, start, end)
        if found:
            return text.count("\n", 0, found.start()) + 1
    return text.count("\n", 0, start) + 1


def describe(raw: Any, noun: str, number: int) -> str:
    slug = raw.get("slug") if isinstance(raw, dict) else None
    return f"{noun} '{slug}'" if slug not in (None, "") else f"{noun} #{number}"


def read_meetings_file(path: Path, problems: list[ContentProblem]) -> list[Meeting]:
    text = path.read_text(encoding="utf-8")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(ContentProblem(path, exc.lineno, None, f"not valid JSON: {exc.msg}"))
        return []
    if not isinstance(raw, list):
        problems.append(ContentProblem(path, 1, None, "must be a JSON array of meetings"))
        return []
    meetings: list[Meeting] = []
    spans: list[tuple[int, int, int]] | None = None
    for number, item in enumerate(raw, start=1):
        try:
            meetings.append(Meeting.model_validate(item))
        except ValidationError as exc:
            spans = spans or json_array_lines(text)
            _, start, end = spans[number - 1]
            problems.extend(
                validation_problems(
                    exc,
                    path,
                    describe(item, "meeting", number),
                    partial(key_line, text, start, end, quoted=True),
                )
            )
    return meetings


# ---- TOML tables ------------------------------------------------------------


def table_spans(text: str, table: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each ``[[table]]`` block, sub-tables included."""
    headers = list(re.finditer(r"(?m)^\s*\[\[?([^\]]+)\]\]?", text))
    spans = []
    for i, header in enumerate(headers):
        if header.group(0).strip() == f"[[{table}]]":
            end = len(text)
            for later in headers[i + 1 :]:
                name = later.group(1).strip()
                if name != table and not name.startswith(f"{table}."):
                    end = later.start()
                    break
                if later.group(0).strip() == f"[[{table}]]":
                    end = later.start()
                    break
            spans.append((header.start(), end))
    return spans


def read_toml_records(
    path: Path, table: str, model: type[RecordT], problems: list[ContentProblem]
) -> list[RecordT]:
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
    except FileNotFoundError:
        problems.append(ContentProblem(path, None, None, "file is missing"))
        return []
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        problems.append(
            ContentProblem(
                path, int(line.group(1)) if line else None, None, f"not valid TOML: {exc}"
            )
        )
        return []
    items = raw.pop(table, [])
    for unknown in raw:
        problems.append(
            ContentProblem(path, None, unknown, f"unknown section (expected [[{table}]])")
        )
    records: list[RecordT] = []
    spans: list[tuple[int, int]] | None = None
    for number, item in enumerate(items, start=1):
        try:
            records.append(model.model_validate(item))
        except ValidationError as exc:
            spans = spans or table_spans(text, table)
            start, end = spans[number - 1]
            problems.extend(
                validation_problems(
                    exc,
                    path,
                    describe(item, table, number),
                    partial(key_line, text, start, end, quoted=False),
                )
            )
    return records


# ---- outcodes CSV -----------------------------------------------------------


def read_outcodes(path: Path, problems: list[ContentProblem]) -> dict[str, tuple[float, float]]:
    outcodes: dict[str, tuple[float, float]] = {}
    try:
        handle = path.open(encoding="utf-8", newline="")
    except FileNotFoundError:
        problems.append(ContentProblem(path, None, None, "file is missing"))
        return outcodes
    with handle:
        reader = csv.DictReader(handle)
        for row in reader:
            row_name = f"row {reader.line_num}"
            try:
                lat, lon = float(row["latitude"]), float(row["longitude"])
            except (TypeError, ValueError, KeyError):
                problems.append(
                    ContentProblem(path, reader.line_num, "latitude", "needs numbers", row_name)
                )
                continue
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problems.append(
                    ContentProblem(path, reader.line_num, "latitude", "out of range", row_name)
                )
                continue
            outcodes[(row.get("outcode") or "").strip().upper()] = (lat, lon)
    return outcodes


# ---- whole directory --------------------------------------------------------


def duplicate_slugs(
    records: list[tuple[Path, str]], noun: str, problems: list[ContentProblem]
) -> None:
    seen: dict[str, Path] = {}
    for path, slug in records:
        if slug in seen:
            problems.append(
                ContentProblem(path, None, "slug", f"'{slug}' is also used in {seen[slug]}", noun)
            )
        else:
            seen[slug] = path


def read_all_meetings(data_dir: Path, problems: list[ContentProblem]) -> list[tuple[Path, Meeting]]:
    found: list[tuple[Path, Meeting]] = []
    for path in sorted((data_dir / MEETINGS_DIR).glob("*.json")):
        found.extend((path, m) for m in read_meetings_file(path, problems))
    return found


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Loading makes hundreds of thousands of objects that all live on; the cyclic
    collector would walk them again and again (a third of a 50k-meeting load)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_network(data_dir: Path = DEFAULT_DATA_DIR) -> RecoveryNetwork:
    """Read, validate and index a whole data directory, or raise :class:`ContentError`."""
    with cyclic_gc_paused():
        return _load_network(data_dir)


def _load_network(data_dir: Path) -> RecoveryNetwork:
    problems: list[ContentProblem] = []
    meetings = read_all_meetings(data_dir, problems)
    services = read_toml_records(data_dir / SERVICES_FILE, "service", Service, problems)
    cards = read_toml_records(data_dir / CRISIS_FILE, "card", CrisisCard, problems)
    towns = read_toml_records(data_dir / TOWNS_FILE, "town", Town, problems)
    outcodes = read_outcodes(data_dir / OUTCODES_FILE, problems)

    duplicate_slugs([(p, m.slug) for p, m in meetings], "meeting", problems)
    duplicate_slugs([(data_dir / SERVICES_FILE, s.slug) for s in services], "service", problems)
    defaults = [card for card in cards if not card.areas]
    if len(defaults) != 1 and not any(p.file == data_dir / CRISIS_FILE for p in problems):
        problems.append(
            ContentProblem(
                data_dir / CRISIS_FILE,
                None,
                "areas",
                f"needs exactly one card without areas (the default), found {len(defaults)}",
            )
        )
    if problems:
        raise ContentError(problems)
    return RecoveryNetwork.build(
        meetings=[m for _, m in meetings],
        services=services,
        crisis_cards=cards,
        towns=towns,
        outcodes=outcodes,
    )


class ContentStore:
    """Holds the live :class:`RecoveryNetwork`; ``reload()`` swaps only valid content.

    Readers take ``store.network`` once per message and use that immutable object
    throughout, so a reload mid-message can't mix old and new content.
    """

    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR) -> None:
        self.data_dir = data_dir
        self._network = self._settle(load_network(data_dir))

    @property
    def network(self) -> RecoveryNetwork:
        return self._network

    def reload(self) -> RecoveryNetwork:
        """Load again; on :class:`ContentError` the previous content stays live."""
        self._network = self._settle(load_network(self.data_dir))
        return self._network

    async def reload_async(self) -> RecoveryNetwork:
        """As :meth:`reload`, off the event loop (a big map takes a second to index)."""
        network = await asyncio.to_thread(load_network, self.data_dir)
        self._network = self._settle(network)
        return network

    @staticmethod
    def _settle(network: RecoveryNetwork) -> RecoveryNetwork:
        """Move the new (long-lived, immutable) map out of the cyclic GC's way.

        A big map is millions of objects; without this every full collection walks
        them all, which showed up as 100+ ms pauses in the middle of lookups.
        Reference counting still frees an old map after a reload.
        """
        gc.collect()
        gc.freeze()
        return network
