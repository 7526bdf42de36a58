"""Per-person schedule settings; a person with no row has every default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.scheduler_tables import schedule_prefs
from bot.store.sql import insert_many_ignore
from scheduler.localtime import QuietHours, parse_hhmm

DEFAULT_REMINDERS = (1440, 60)  # minutes before: the day before, an hour before
DEFAULT_QUIET_HOURS = QuietHours.of(None, None)


@dataclass(frozen=True)
class Prefs:
    prompt_time: time | None = None
    quiet: QuietHours = DEFAULT_QUIET_HOURS
    reminder_minutes: tuple[int, ...] = DEFAULT_REMINDERS
    notices: bool = False
    weekly: bool = True
    staff_appts: bool = False
    checkup_time: time | None = None


def from_mapping(m: Any | None) -> Prefs:
    """Prefs from a ``schedule_prefs`` row mapping (None: defaults)."""
    if m is None:
        return Prefs()
    minutes = m["reminder_minutes"]
    return _prefs(
        m["prompt_time"],
        m["quiet_start"],
        m["quiet_end"],
        tuple(minutes) if minutes else DEFAULT_REMINDERS,
        m["notices"],
        m["weekly"],
        m["staff_appts"],
        m["checkup_time"],
    )


@lru_cache(maxsize=4096)
def _prefs(
    prompt_time: str | None,
    quiet_start: str | None,
    quiet_end: str | None,
    reminder_minutes: tuple[int, ...],
    notices: bool,
    weekly: bool,
    staff_appts: bool,
    checkup_time: str | None,
) -> Prefs:
    """Parsed once per distinct combination: a sweep reads thousands of the same few."""
    return Prefs(
        prompt_time=parse_hhmm(prompt_time) if prompt_time else None,
        quiet=QuietHours.of(quiet_start, quiet_end),
        reminder_minutes=reminder_minutes,
        notices=notices,
        weekly=weekly,
        staff_appts=staff_appts,
        checkup_time=parse_hhmm(checkup_time) if checkup_time else None,
    )


async def get(conn: AsyncConnection, contact_id: int) -> Prefs:
    row = (
        await conn.execute(select(schedule_prefs).where(schedule_prefs.c.contact_id == contact_id))
    ).first()
    return from_mapping(row._mapping if row else None)


async def set_values(conn: AsyncConnection, contact_id: int, now: datetime, **values: Any) -> None:
    """Change some settings, creating the row with defaults first if there is none."""
    await insert_many_ignore(
        conn,
        schedule_prefs,
        [
            {
                "contact_id": contact_id,
                "notices": False,
                "weekly": True,
                "staff_appts": False,
                "updated_at": now,
            }
        ],
        "contact_id",
    )
    await conn.execute(
        update(schedule_prefs)
        .where(schedule_prefs.c.contact_id == contact_id)
        .values(updated_at=now, **values)
    )
