"""The local simulator channel: phones in a web page, driven through the real pipeline.

Sending a row means appending it to ``sim_deliveries`` in the same transaction that
marks it sent, so a simulated phone receives every message exactly once.
"""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import Integer, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.segments import split_telegram
from bot.store import outbox as outbox_repo
from bot.store.outbox import OutRow
from bot.store.tables import sim_deliveries

ADDRESS = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
MAX_WAIT_SECONDS = 25.0  # a long poll's longest wait: under common proxy idle timeouts


_DELIVER = insert(sim_deliveries).returning(sim_deliveries.c.id)


class SimSender:
    """Delivers into ``sim_deliveries``; phones waiting on ``/sim/api/messages`` are woken
    the moment something is delivered to them (a long poll), instead of asking again
    and again."""

    channel = "sim"

    def __init__(self) -> None:
        self._doorbells: dict[str, asyncio.Event] = {}

    def after_sent(self, row: OutRow) -> None:
        bell = self._doorbells.pop(row.address, None)
        if bell is not None:
            bell.set()

    def doorbell(self, address: str) -> asyncio.Event:
        """Set at the next delivery to ``address``. Take it *before* reading what has
        arrived, so a delivery between the read and the wait still rings it."""
        return self._doorbells.setdefault(address, asyncio.Event())

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def split(self, text: str) -> list[str]:
        return split_telegram(text)

    async def send(self, row: OutRow) -> str | None:
        return None  # delivery happens in record_sent, atomically

    async def record_sent(
        self, conn: AsyncConnection, row: OutRow, provider_id: str | None
    ) -> None:
        values = {
            "address": row.address,
            "text": row.text,
            "meta": row.meta,
            "outbox_id": row.id,
            "at": utcnow(),
        }
        result = await conn.execute(_DELIVER, values)
        await outbox_repo.mark_sent(conn, row.id, f"sim-{result.scalar_one()}")


# Built once: every simulated phone polls with it, many times a second in the bench.
_INBOX_OF_PHONE = (
    select(sim_deliveries.c.id, sim_deliveries.c.text, sim_deliveries.c.meta, sim_deliveries.c.at)
    .where(
        sim_deliveries.c.address == bindparam("address"),
        sim_deliveries.c.id > bindparam("after"),
    )
    .order_by(sim_deliveries.c.id)
    .limit(bindparam("limit", type_=Integer))
)


async def messages_for(
    conn: AsyncConnection, address: str, after: int, limit: int = 200
) -> list[dict[str, object]]:
    rows = await conn.execute(_INBOX_OF_PHONE, {"address": address, "after": after, "limit": limit})
    return [
        {
            "id": r.id,
            "text": r.text,
            "at": r.at.isoformat(),
            "buttons": (r.meta or {}).get("buttons", []),
        }
        for r in rows
    ]
