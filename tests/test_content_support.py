"""Helpers shared by the content tests (no tests here): sample network, UK times."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo

from content.loader import load_network
from content.network import RecoveryNetwork

LONDON = ZoneInfo("Europe/London")


@cache
def sample_network() -> RecoveryNetwork:
    return load_network()


def uk(text: str) -> datetime:
    """'2026-06-16 18:30' in UK local time, as an aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LONDON).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
