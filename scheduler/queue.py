"""The ``scheduled`` table: one row per pending send, claimed by the due sweep.

Rows are keyed (``appt:12:1h``, ``prompt:7:2026-03-29``, ``bcast:3:7``), so adding a
row twice is harmless and the same key becomes the outbox row's ``dedupe_key``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.scheduler_tables import scheduled
from bot.store.sql import insert_many_ignore

_DUE_COLUMNS = ("id", "kind", "key", "contact_id", "due_at", "grace_until", "ref_id", "payload")


@dataclass(frozen=True)
class Due:
    id: int
    kind: str
    key: str
    contact_id: int
    due_at: datetime
    grace_until: datetime
    ref_id: int | None
    payload: dict[str, Any]


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


async def claim(conn: AsyncConnection, now: datetime, limit: int) -> list[Due]:
    """Pending rows that are due, oldest first. Uses the (status, due_at) index, so the
    cost does not grow with the number of future rows; other instances skip the rows
    this one holds (PostgreSQL; SQLite has one writer)."""
    stmt = (
        select(*(scheduled.c[name] for name in _DUE_COLUMNS))
        .where(scheduled.c.status == "pending", scheduled.c.due_at <= now)
        .order_by(scheduled.c.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [
        Due(
            id=m["id"],
            kind=m["kind"],
            key=m["key"],
            contact_id=m["contact_id"],
            due_at=m["due_at"],
            grace_until=m["grace_until"],
            ref_id=m["ref_id"],
            payload=m["payload"] or {},
        )
        for m in (r._mapping for r in await conn.execute(stmt))
    ]


async def finish(
    conn: AsyncConnection, ids: Iterable[int], status: str, reason: str | None, now: datetime
) -> None:
    ids = list(ids)
    if ids:
        await conn.execute(
            update(scheduled)
            .where(scheduled.c.id.in_(ids))
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
