"""The ``scheduled`` table: one row per pending send, claimed by the due sweep.

Rows are keyed (``appt:12:1h``, ``prompt:7:2026-03-29``, ``bcast:3:7``), so adding a
row twice is harmless and the same key becomes the outbox row's ``dedupe_key``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.scheduler_tables import scheduled
from bot.store.sql import among, insert_many_ignore


class Due(NamedTuple):
    """One claimed row (a tuple: a sweep makes 100,000 of them in a few seconds)."""

    id: int
    kind: str
    key: str
    contact_id: int
    due_at: datetime
    grace_until: datetime
    ref_id: int | None
    payload: dict[str, Any]


# What a sweep reads of a row, in the order of Due's fields.
DUE_COLUMNS = tuple(scheduled.c[name] for name in Due._fields)


def new_row(
    kind: str,
    key: str,
    contact_id: int,
    due_at: datetime,
    grace_until: datetime,
    now: datetime,
    *,
    ref_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "key": key,
        "contact_id": contact_id,
        "due_at": due_at,
        "grace_until": grace_until,
        "status": "pending",
        "reason": None,
        "ref_id": ref_id,
        "payload": payload or {},
        "created_at": now,
        "done_at": None,
    }


async def add(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    """Insert rows; one whose key exists already is left as it is."""
    await insert_many_ignore(conn, scheduled, rows, "key")


async def taken(conn: AsyncConnection, key: str) -> bool:
    """Whether a row with this key exists, whatever its state."""
    found = await conn.execute(select(scheduled.c.id).where(scheduled.c.key == key))
    return found.first() is not None


def listing(now: datetime, limit: int) -> Select[int, int]:
    """(contact id, row id) of up to ``limit`` pending rows that are due, the oldest.
    It reads the (status, due_at) index, so its cost does not grow with the number of
    future rows."""
    return (
        select(scheduled.c.contact_id, scheduled.c.id)
        .where(scheduled.c.status == "pending", scheduled.c.due_at <= now)
        .order_by(scheduled.c.due_at)
        .limit(limit)
    )


async def due_ids(conn: AsyncConnection, now: datetime, limit: int) -> list[int]:
    """The ids of ``listing``, in contact order: a batch of neighbouring contacts then
    writes to neighbouring pages of the contact-keyed indexes (and of rows planned in
    that order), where due order scatters every batch over all of them. On SQLite, for
    100,000 prompts in 2,000-row batches, that is about a quarter of the database time."""
    listed = sorted(
        (contact_id, row_id) for contact_id, row_id in await conn.execute(listing(now, limit))
    )
    return [row_id for _, row_id in listed]


async def claim(conn: AsyncConnection, ids: list[int]) -> list[Due]:
    """Those of rows ``ids`` still pending, locked (on PostgreSQL a row another instance
    holds is skipped): a row listed earlier may have been done since. Status is checked
    here rather than in SQL so that SQLite looks the rows up by id."""
    rows = await conn.execute(
        select(*DUE_COLUMNS, scheduled.c.status)
        .where(among(conn, scheduled.c.id, ids))
        .with_for_update(skip_locked=True)
    )
    return [Due(*due) for *due, status in rows if status == "pending"]


async def finish(
    conn: AsyncConnection, ids: Iterable[int], status: str, reason: str | None, now: datetime
) -> None:
    ids = list(ids)
    if ids:
        await conn.execute(
            update(scheduled)
            .where(among(conn, scheduled.c.id, ids))
            .values(status=status, reason=reason, done_at=now)
        )


async def hold(conn: AsyncConnection, row_id: int, until: datetime) -> None:
    await conn.execute(update(scheduled).where(scheduled.c.id == row_id).values(due_at=until))


async def cancel(conn: AsyncConnection, now: datetime, *where: ColumnElement[bool]) -> int:
    """Cancel the pending rows matching ``where``; how many."""
    result = await conn.execute(
        update(scheduled)
        .where(scheduled.c.status == "pending", *where)
        .values(status="cancelled", done_at=now)
    )
    return int(result.rowcount)


async def drop_pending(conn: AsyncConnection, *where: ColumnElement[bool]) -> None:
    """Forget pending rows so they can be added again under the same keys."""
    await conn.execute(delete(scheduled).where(scheduled.c.status == "pending", *where))
