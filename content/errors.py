"""Errors raised when content files or import feeds don't validate."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ContentProblem:
    """One thing wrong with one record: where it is and which field."""

    file: Path | str
    line: int | None
    field: str | None
    message: str
    record: str | None = None  # e.g. "meeting 'crawley-smart'" or "row 7"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
        parts = [where]
        if self.record:
            parts.append(self.record)
        if self.field:
            parts.append(f"field '{self.field}'")
        return f"{': '.join(parts)}: {self.message}"


class ContentError(Exception):
    """Content was refused. ``str()`` is one line; ``problems`` lists every one found."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        if not problems:
            raise ValueError("ContentError needs at least one problem")
        self.problems = tuple(problems)
        more = len(problems) - 1
        message = str(problems[0]) + (f" (and {more} more)" if more else "")
        super().__init__(message)

    @property
    def first(self) -> ContentProblem:
        return self.problems[0]
