"""SQLite's one writer: urgent transactions go first, and small writes share commits."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.store.engine import Store, WriterTurns
from bot.store.group_commit import GroupCommit
from bot.store.tables import sim_deliveries


async def test_urgent_writers_are_served_before_ones_that_came_earlier() -> None:
    turns = WriterTurns()
    order: list[str] = []

    async def write(name: str, urgent: bool) -> None:
        async with turns.turn(urgent):
            order.append(name)
            await asyncio.sleep(0)

    await turns.acquire(urgent=False)  # someone holds the writer
    waiting = [
        asyncio.create_task(write(name, urgent))
        for name, urgent in [("bulk-1", False), ("bulk-2", False), ("webhook", True)]
    ]
    await asyncio.sleep(0)
    assert turns.urgent_waiting
    turns.release()
    await asyncio.gather(*waiting)
    assert order == ["webhook", "bulk-1", "bulk-2"]
    assert not turns.urgent_waiting


async def test_a_cancelled_waiter_does_not_keep_the_writer() -> None:
    turns = WriterTurns()
    await turns.acquire(urgent=False)
    gone = asyncio.create_task(turns.acquire(urgent=True))
    await asyncio.sleep(0)
    turns.release()  # handed to the waiter...
    gone.cancel()  # ...which is cancelled before it runs: the turn must pass on
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.wait_for(turns.acquire(urgent=False), timeout=5)


def delivery(address: str) -> dict[str, object]:
    return {"address": address, "text": "t", "meta": {}, "at": utcnow()}


async def insert(conn: AsyncConnection, row: dict[str, object]) -> int:
    result = await conn.execute(sim_deliveries.insert().values(**row))
    return int(result.inserted_primary_key[0])


async def test_writes_waiting_together_share_one_commit(store: Store) -> None:
    writes = GroupCommit(store)
    commits: list[object] = []
    event.listen(store.engine.sync_engine, "commit", commits.append)
    ids = await asyncio.gather(
        *(writes.run(lambda conn, i=i: insert(conn, delivery(f"p{i}"))) for i in range(20))
    )
    assert len(set(ids)) == 20
    assert len(commits) == 1


async def test_a_bad_write_fails_alone(store: Store) -> None:
    writes = GroupCommit(store)
    rows = [delivery(f"p{i}") for i in range(20)]
    rows[7] = {**rows[7], "text": None}  # NOT NULL: this write fails
    results = await asyncio.gather(
        *(writes.run(lambda conn, row=row: insert(conn, row)) for row in rows),
        return_exceptions=True,
    )
    assert isinstance(results[7], IntegrityError)
    assert len({r for r in results if isinstance(r, int)}) == 19
    async with store.read() as conn:
        stored = (await conn.execute(select(func.count()).select_from(sim_deliveries))).scalar()
    assert stored == 19
