"""What people looked up in the network map: kind, place and result count only, never
who asked, so coordinators can see where the map has gaps."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.tables import Id, UTCDateTime, metadata

lookup_log = Table(
    "lookup_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("place", String(64)),
    Column("count", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "at"),
)


async def lookup_misses(
    conn: AsyncConnection, since: datetime
) -> list[tuple[str, str | None, int]]:
    """(kind, place, times) of lookups that found nothing since ``since``, most first."""
    times = func.count().label("times")
    rows = await conn.execute(
        select(lookup_log.c.kind, lookup_log.c.place, times)
        .where(lookup_log.c.at >= since, lookup_log.c.count == 0)
        .group_by(lookup_log.c.kind, lookup_log.c.place)
        .order_by(times.desc(), lookup_log.c.kind, lookup_log.c.place)
    )
    return [(r.kind, r.place, int(r.times)) for r in rows]
