"""Time in one place, so tests can reason about it: the store keeps aware UTC only."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
