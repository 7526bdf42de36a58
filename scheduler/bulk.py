"""Writing many rows in one statement: the sweeps' path to the outbox.

``bot.store.outbox.enqueue`` compiles and runs one INSERT per row, about 0.7 ms each on
SQLite; 100,000 prompts due in the same minute need one executemany instead. The rows
are built exactly as ``enqueue`` builds them (one per part, ``#i`` keys for later
parts, nothing for an opted-out or unreachable contact).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.messages import Outbound
from bot.outgoing import Splitters
from bot.segments import count_segments
from bot.store.contacts import Contact
from bot.store.tables import outbox


async def insert_ignoring(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], key: str
) -> None:
    """INSERT … ON CONFLICT (key) DO NOTHING for every row, as one executemany."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
    await conn.execute(stmt, rows)


def outbox_rows(
    parts: list[tuple[str, int]], contact: Contact, out: Outbound, now: datetime
) -> list[dict[str, Any]]:
    """The outbox rows ``out`` becomes for ``contact``, given its (part, segments)."""
    assert out.dedupe_key is not None, "scheduled sends are always keyed"
    return [
        {
            "contact_id": contact.id,
            "channel": contact.channel,
            "kind": out.kind,
            "priority": int(out.priority),
            "text": part,
            "meta": out.meta if i == 0 else {},
            "segments": segments,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "expires_at": out.expires_at,
            "created_at": now,
            "updated_at": now,
            "inbox_id": None,
            "dedupe_key": out.dedupe_key if i == 0 else f"{out.dedupe_key}#{i}",
        }
        for i, (part, segments) in enumerate(parts)
    ]


async def enqueue_many(
    conn: AsyncConnection,
    splitters: Splitters,
    sends: Iterable[tuple[Contact, Outbound]],
) -> set[str]:
    """Queue keyed messages in one statement; the channels that got something.

    Rows are stamped with the real time (as ``enqueue`` does), whatever clock the
    caller's schedule runs on: dispatchers compare them with the real time."""
    now = utcnow()
    # Thousands of people get the same few texts: split and count each text once.
    parts: dict[tuple[str, str], list[tuple[str, int]]] = {}
    rows: list[dict[str, Any]] = []
    for contact, out in sends:
        split = splitters.get(contact.channel)
        if split is None or not contact.reachable:
            continue
        cut = parts.get((contact.channel, out.text))
        if cut is None:
            cut = [(part, count_segments(part)) for part in split(out.text)]
            parts[contact.channel, out.text] = cut
        rows += outbox_rows(cut, contact, out, now)
    await insert_ignoring(conn, outbox, rows, "dedupe_key")
    return {row["channel"] for row in rows}
