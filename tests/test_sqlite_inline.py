"""SQLite statements run on the event loop's thread; what can wait runs on aiosqlite's."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bot.store.engine import Store


def _trace_threads(store: Store) -> list[tuple[int, str]]:
    """Every statement SQLite runs, with the thread that ran it."""
    seen: list[tuple[int, str]] = []

    @event.listens_for(store.engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        raw = dbapi_conn.driver_connection._conn  # the sqlite3 connection
        raw.set_trace_callback(lambda sql: seen.append((threading.get_ident(), sql)))

    return seen


async def test_statements_run_here_and_commit_on_the_connections_thread(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    seen = _trace_threads(store)
    try:
        async with store.tx() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
            await conn.execute(text("INSERT INTO t VALUES (1)"))
        async with store.read() as conn:
            assert (await conn.execute(text("SELECT n FROM t"))).scalar_one() == 1
    finally:
        await store.close()
    here = threading.get_ident()
    ran: dict[str, set[int]] = {}
    for thread, sql in seen:
        ran.setdefault(sql.split("(")[0].strip().upper(), set()).add(thread)
    assert ran["INSERT INTO T VALUES"] == {here} and ran["SELECT N FROM T"] == {here}
    assert ran["BEGIN"] == {here}  # a read: never waits in WAL mode
    assert here not in ran["BEGIN IMMEDIATE"]  # may wait for another process's lock
    assert here not in ran["COMMIT"]  # the fsync


async def test_a_long_run_of_statements_gives_the_loop_turns(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'inline.db'}")
    turns = 0

    async def other_work() -> None:
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)

    try:
        async with store.tx() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))
        other = asyncio.create_task(other_work())
        await asyncio.sleep(0)
        began = turns
        async with store.tx() as conn:
            for n in range(3000):  # a few hundred ms of statements, no thread hop between
                await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
            during = turns - began
        other.cancel()
    finally:
        await store.close()
    assert during >= 5, f"the loop had {during} turns during 3,000 statements"
