"""Group commit: many small writes, one transaction.

Storing a webhook's message or recording a finished send is a couple of statements
whose cost is mostly the transaction around them: waiting for SQLite's one writer,
BEGIN, and COMMIT's fsync. Writes that arrive while a batch is committing wait for the
next batch, so under load each transaction carries many of them, while a quiet service
still commits each write at once, alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.engine import Store

T = TypeVar("T")
Work = Callable[[AsyncConnection], Awaitable[Any]]


class GroupCommit:
    """``await writes.run(work)`` runs ``work(conn)`` in a transaction shared with
    whatever other work is waiting, and returns its result once that has committed."""

    def __init__(self, store: Store, *, urgent: bool = False, max_batch: int = 256) -> None:
        self.store = store
        self.urgent = urgent
        self.max_batch = max_batch
        self._waiting: list[tuple[Work, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append((work, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return cast(T, await future)

    async def _flush(self) -> None:
        batch: list[tuple[Work, asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                try:
                    await self._commit(batch)
                except Exception:
                    # One bad write must not sink the others: commit each alone, so the
                    # error reaches only the caller whose write it was.
                    for item in batch:
                        try:
                            await self._commit([item])
                        except Exception as exc:
                            _settle(item[1], exc=exc)
        finally:  # stopped mid-batch: nobody may wait for ever
            for _, future in batch + self._waiting:
                future.cancel()

    async def _commit(self, batch: list[tuple[Work, asyncio.Future[Any]]]) -> None:
        async with self.store.tx(urgent=self.urgent) as conn:
            results = [await work(conn) for work, _ in batch]
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result=result)


def _settle(
    future: asyncio.Future[Any], *, result: Any = None, exc: Exception | None = None
) -> None:
    """Resolve ``future`` unless its caller already gave up waiting (was cancelled)."""
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
