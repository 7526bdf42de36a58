"""The async engine and transactions.

SQLite runs with WAL (readers never block the writer), foreign keys on, a busy timeout,
``synchronous=FULL`` (an acknowledged message survives power loss, not just a crash)
and ``BEGIN IMMEDIATE`` for writes. Within the process, write transactions take turns
(SQLite has one writer anyway): waiting for a turn costs nothing, while SQLite's own
busy handler sleeps in growing steps and fails after the timeout. An *urgent* writer
(a webhook whose sender is waiting for our acknowledgement) goes before everyone else
in the line, and long-running writers can ask whether one is waiting and step aside.
PostgreSQL needs none of this.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.store import sqlite_inline

_READONLY = "nightowl_readonly"


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_tuning(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={busy_timeout_ms}",
            "synchronous=FULL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        readonly = conn.get_execution_options().get(_READONLY, False)
        conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


class WriterTurns:
    """One writer at a time, urgent ones first, then first come first served."""

    def __init__(self) -> None:
        self._busy = False
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._normal: deque[asyncio.Future[None]] = deque()

    @property
    def urgent_waiting(self) -> bool:
        return any(not turn.done() for turn in self._urgent)

    async def acquire(self, urgent: bool) -> None:
        if not self._busy:
            self._busy = True
            return
        turn = asyncio.get_running_loop().create_future()
        (self._urgent if urgent else self._normal).append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed the turn just as we were cancelled: pass it on
            raise

    def release(self) -> None:
        for line in (self._urgent, self._normal):
            while line:
                turn = line.popleft()
                if not turn.done():
                    turn.set_result(None)  # the turn passes straight on: still busy
                    return
        self._busy = False

    @asynccontextmanager
    async def turn(self, urgent: bool) -> AsyncIterator[None]:
        await self.acquire(urgent)
        try:
            yield
        finally:
            self.release()


class Store:
    """Owns the engine; hands out write and read transactions."""

    def __init__(self, url: str, busy_timeout_ms: int = 5000) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        if self.is_sqlite:
            _prepare_sqlite_file(url)
        # hide_parameters: a database error must never carry message text into a log.
        options: dict[str, Any] = {"hide_parameters": True}
        if self.is_sqlite:
            database = make_url(url).database or ":memory:"
            options["async_creator"] = partial(sqlite_inline.connect, database)
        self.engine = create_async_engine(url, **options)
        self._writer: WriterTurns | None = None
        if self.is_sqlite:
            _sqlite_tuning(self.engine, busy_timeout_ms)
            self._writer = WriterTurns()

    @asynccontextmanager
    async def tx(self, urgent: bool = False) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed on success, rolled back on error. Do not nest.

        ``urgent``: someone outside is waiting on this commit; go first.
        """
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._writer.turn(urgent), self.engine.begin() as conn:
            yield conn

    def urgent_writer_waiting(self) -> bool:
        """True when an urgent transaction is waiting for the one SQLite writer."""
        return self._writer is not None and self._writer.urgent_waiting

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        async with self.engine.connect() as conn:
            await conn.execution_options(**{_READONLY: True})
            async with conn.begin():
                yield conn

    async def ping(self) -> bool:
        try:
            async with self.read() as conn:
                await conn.exec_driver_sql("SELECT 1")
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self.engine.dispose()
