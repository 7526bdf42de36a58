"""FORGET's part in the scheduler: what a person told us or asked us to keep for them
(journal, check-ups, appointments, prompt and reminder settings, offers of a buddy) is
deleted, and nothing more is sent on their behalf. A broadcast's delivery rows stay
(a count in a coordinator's report, no words of theirs)."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.scheduler_tables import (
    appointments,
    buddy_offers,
    checkups,
    journal,
    schedule_prefs,
    scheduled,
)


async def forget(conn: AsyncConnection, contact_id: int) -> None:
    mine = scheduled.c.contact_id == contact_id
    await conn.execute(delete(scheduled).where(mine, scheduled.c.kind != "broadcast"))
    for table in (journal, checkups, appointments, buddy_offers, schedule_prefs):
        await conn.execute(delete(table).where(table.c.contact_id == contact_id))
