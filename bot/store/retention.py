"""The retention purge: message text goes after the retention period; the times,
waits and outcomes stay, for stats."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import conversations as convs
from bot.store.tables import inbox, outbox


async def purge_before(conn: AsyncConnection, cutoff: datetime) -> int:
    """Empty every stored text older than ``cutoff``; how many rows were touched."""
    touched = await convs.purge_text_before(conn, cutoff)
    inbound = await conn.execute(
        update(inbox)
        .where(inbox.c.received_at < cutoff, inbox.c.status != "pending", inbox.c.text != "")
        .values(text="", payload={})
    )
    outbound = await conn.execute(
        update(outbox)
        .where(outbox.c.created_at < cutoff, outbox.c.status != "pending", outbox.c.text != "")
        .values(text="")
    )
    return touched + int(inbound.rowcount) + int(outbound.rowcount)
