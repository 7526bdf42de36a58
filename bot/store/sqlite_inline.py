"""aiosqlite with fewer thread hops.

aiosqlite runs every call (a cursor, an execute, a fetch, a close) on the connection's
own thread, and each hop costs a queue put, a thread wake-up, a hand-over of the GIL and
a wake-up of the event loop: about 200 hops, a third of the CPU, for one relayed text.
A statement on a local WAL database takes microseconds and, inside a transaction that
already holds the write lock, never waits for anyone. So here statements run at once on
the caller's thread, and only the calls that can wait go to aiosqlite's thread, as
before: the connection's own commit and close (COMMIT's fsync, a WAL checkpoint now and
then) and ``BEGIN IMMEDIATE`` (the write lock, if another process holds it).

A handler that runs many statements in a row would then keep the event loop to itself,
so the connection gives the loop a turn every couple of milliseconds: a webhook never
waits long behind a busy worker.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

# Statements that may wait on the disk or on another process: leave them on the thread.
_WAITING_STATEMENTS = ("BEGIN IMMEDIATE", "COMMIT")
_CONNECTION_CALLS_THAT_WAIT = ("commit", "close")
TIME_SLICE_SECONDS = 0.002  # the longest run of statements before the loop gets a turn


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs what cannot block on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread.daemon = True
        self._slice_began = time.monotonic()

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if self._may_wait(fn, args):
            try:
                return await super()._execute(fn, *args, **kwargs)
            finally:
                self._slice_began = time.monotonic()
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        result = fn(*args, **kwargs)
        if time.monotonic() - self._slice_began > TIME_SLICE_SECONDS:
            await asyncio.sleep(0)
            self._slice_began = time.monotonic()
        return result

    def _may_wait(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> bool:
        if getattr(fn, "__self__", None) is self._connection:
            return fn.__name__ in _CONNECTION_CALLS_THAT_WAIT
        statement = args[0] if args and isinstance(args[0], str) else ""
        return statement.lstrip().upper().startswith(_WAITING_STATEMENTS)


async def connect(database: str) -> aiosqlite.Connection:
    """An open ``InlineConnection`` to ``database``, for SQLAlchemy's ``async_creator``."""

    def connector() -> sqlite3.Connection:
        # Used from two threads, never at once: the caller waits for the other one.
        return sqlite3.connect(database, check_same_thread=False)

    return await InlineConnection(connector)
