"""Appointments and their reminders (by default the day before and an hour before).

A reminder a whole number of days ahead keeps the wall-clock time ("the day before"
at 10:30 even across a clock change); others are exact ("an hour before"). A missed
reminder is still worth sending for half its lead time, and never after the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound, Priority
from bot.store.scheduler_tables import appointments, scheduled
from content import texts
from scheduler import queue
from scheduler.due import Job, Person, register
from scheduler.localtime import at_local
from scheduler.queue import Due

DAY = 1440


@dataclass(frozen=True)
class Appointment:
    id: int
    contact_id: int
    starts_at: datetime
    what: str
    status: str


def _from_row(m: Any) -> Appointment:
    return Appointment(m["id"], m["contact_id"], m["starts_at"], m["what"], m["status"])


def label(minutes: int) -> str:
    """``1440`` → ``24h``, ``60`` → ``1h``, ``30`` → ``30m`` (part of the row key)."""
    return f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"


def reminder_due(starts_at: datetime, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes % DAY == 0:
        local = starts_at.astimezone(zone)
        return at_local(local.date() - timedelta(days=minutes // DAY), local.time(), zone)
    return starts_at - timedelta(minutes=minutes)


def reminder_rows(
    appt: Appointment, offsets: tuple[int, ...], zone: ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    """Rows for the reminders still ahead of ``now``."""
    rows = []
    for minutes in offsets:
        due = reminder_due(appt.starts_at, minutes, zone)
        if due <= now:
            continue
        grace = min(due + timedelta(minutes=minutes / 2), appt.starts_at)
        key = f"appt:{appt.id}:{label(minutes)}"
        rows.append(
            queue.new_row("reminder", key, appt.contact_id, due, grace, now, ref_id=appt.id)
        )
    return rows


async def add(
    conn: AsyncConnection,
    contact_id: int,
    starts_at: datetime,
    what: str,
    now: datetime,
    *,
    offsets: tuple[int, ...],
    zone: ZoneInfo,
    created_by: int | None = None,
) -> Appointment:
    new_id = (
        await conn.execute(
            insert(appointments)
            .values(
                contact_id=contact_id,
                starts_at=starts_at,
                what=what,
                status="active",
                created_by=created_by,
                created_at=now,
            )
            .returning(appointments.c.id)
        )
    ).scalar_one()
    appt = Appointment(new_id, contact_id, starts_at, what, "active")
    await queue.add(conn, reminder_rows(appt, offsets, zone, now))
    return appt


async def upcoming(conn: AsyncConnection, contact_id: int, now: datetime) -> list[Appointment]:
    rows = await conn.execute(
        select(appointments)
        .where(
            appointments.c.contact_id == contact_id,
            appointments.c.status == "active",
            appointments.c.starts_at > now,
        )
        .order_by(appointments.c.starts_at, appointments.c.id)
    )
    return [_from_row(r._mapping) for r in rows]


async def drop(conn: AsyncConnection, appt: Appointment, now: datetime) -> None:
    await conn.execute(
        update(appointments)
        .where(appointments.c.id == appt.id)
        .values(status="dropped", dropped_at=now)
    )
    await queue.cancel(conn, now, scheduled.c.kind == "reminder", scheduled.c.ref_id == appt.id)


async def reschedule(
    conn: AsyncConnection, contact_id: int, offsets: tuple[int, ...], zone: ZoneInfo, now: datetime
) -> None:
    """Replace the pending reminders of every upcoming appointment (new offsets)."""
    for appt in await upcoming(conn, contact_id, now):
        await queue.drop_pending(
            conn, scheduled.c.kind == "reminder", scheduled.c.ref_id == appt.id
        )
        await queue.add(conn, reminder_rows(appt, offsets, zone, now))


def when_words(starts_at: datetime, zone: ZoneInfo, now: datetime) -> str:
    """``today at 10:30``, ``tomorrow at 10:30`` or ``Tue 17 Mar at 10:30``."""
    local, today = starts_at.astimezone(zone), now.astimezone(zone).date()
    day = {today: "today", today + timedelta(days=1): "tomorrow"}.get(
        local.date(), local.strftime("%a %-d %b")
    )
    return f"{day} at {local:%H:%M}"


def describe(appt: Appointment, zone: ZoneInfo) -> str:
    """``Tue 17 Mar, 10:30, keyworker at the Hub``: how a person's list shows it."""
    return f"{appt.starts_at.astimezone(zone):%a %-d %b, %H:%M}, {appt.what}"


class ReminderJob(Job):
    kind = "reminder"

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[Outbound] | str:
        found = (
            await conn.execute(select(appointments).where(appointments.c.id == row.ref_id))
        ).first()
        if found is None or found.status != "active":
            return "cancelled"
        appt = _from_row(found._mapping)
        text = texts.render(
            "reminders.due", what=appt.what, when=when_words(appt.starts_at, person.zone, now)
        )
        # Tagged: a person mid-conversation with a buddy still gets it, the buddy never does.
        return [
            Outbound(
                text,
                priority=Priority.REMINDER,
                kind="reminder",
                meta={"tag": "reminder"},
                dedupe_key=row.key,
            )
        ]


register(ReminderJob())
