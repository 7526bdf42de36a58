"""The inbox worker: hands each stored inbound message to the handlers, in order per
sender, and commits the handlers' effects, their outbox rows and the inbox row's
"done" together, so a crash at any point means the message is simply handled again.
The replies are claimed for their dispatchers in that transaction too, and handed over
once it commits (``bot.dispatch.Outlet``).

When messages queue up, several are handled in one transaction (each inside its own
savepoint, so one that fails does not undo the others): the cost of a transaction is
shared, and the backlog clears faster. A batch ends early when an inbound message is
waiting to be stored, so a webhook never waits behind more than one handler; and during
a burst of webhooks the worker holds back for a moment, so acknowledging comes first
(what it leaves is safe in the inbox).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import outgoing
from bot.config import Settings
from bot.dispatch import Outlet
from bot.messages import Outbound
from bot.store import inbox as inbox_repo
from bot.store.engine import Store
from bot.store.inbox import InboxRow
from content import texts
from content.loader import ContentStore
from handlers.turn import Turn

log = logging.getLogger("nightowl.worker")

Route = Callable[[Turn], Awaitable[list[Outbound]]]
MAX_ATTEMPTS = 3
BATCH_LIMIT = 32  # messages in one transaction at most


class Acknowledging:
    """Counts inbound messages being stored right now, so the worker can give way to a
    burst of them: a provider waiting for our 2xx matters more than a message that is
    already safe in the inbox."""

    BURST = 3  # this many at once is a burst
    HOLD_BACK_SECONDS = 0.05  # the longest the worker gives way before taking a turn

    def __init__(self) -> None:
        self._now = 0
        self._calm = asyncio.Event()
        self._calm.set()

    @contextmanager
    def one(self) -> Iterator[None]:
        self._now += 1
        if self._now >= self.BURST:
            self._calm.clear()
        try:
            yield
        finally:
            self._now -= 1
            if self._now < self.BURST:
                self._calm.set()

    async def give_way(self) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._calm.wait(), self.HOLD_BACK_SECONDS)


class InboxWorker:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        route: Route,
        splitters: outgoing.Splitters,
        outlet: Outlet,
        content: ContentStore,
    ) -> None:
        self.store = store
        self.settings = settings
        self.route = route
        self.splitters = splitters
        self.outlet = outlet
        self.content = content
        self.wakeup = asyncio.Event()
        self.acknowledging = Acknowledging()
        # A batch's replies leave when it commits. On SQLite a webhook waiting for the
        # one writer ends the batch; on PostgreSQL nothing waits for a writer, and 32
        # messages of round trips held the first reply ~400 ms: there time ends it.
        # (A time limit on SQLite only adds commits: bench/night.py's tail grew.)
        self.batch_seconds: float | None = None if store.is_sqlite else 0.05
        # Whether the last batch stopped short of the end of the inbox: then the next
        # begins at once; else it waits to hear of a new message (no empty transaction).
        self.more_waiting = False

    async def run(self) -> None:
        while True:
            self.wakeup.clear()
            await self.acknowledging.give_way()
            try:
                await self.process_batch()
            except Exception:  # the database itself failed: wait, then carry on
                log.exception("inbox worker error")
                self.more_waiting = False
            if not self.more_waiting:  # one stored meanwhile has set wakeup: no wait
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=1.0)

    async def process_batch(self) -> int:
        """Handle the messages waiting (up to a batch); how many were taken."""
        channels: set[str] = set()
        taken = 0
        self.more_waiting = True
        loop = asyncio.get_running_loop()
        async with self.store.tx() as conn:
            ends_at = loop.time() + (math.inf if self.batch_seconds is None else self.batch_seconds)
            while taken < BATCH_LIMIT and not (
                taken and (self.store.urgent_writer_waiting() or loop.time() > ends_at)
            ):
                row = await inbox_repo.claim_next(conn)
                if row is None:
                    self.more_waiting = False
                    break
                taken += 1
                try:
                    async with conn.begin_nested():
                        channels |= await self._handle(conn, row)
                except Exception:
                    log.exception("handler failed", extra={"inbox_id": row.id})
                    channels |= await self._after_failure(conn, row)
            handovers = await self.outlet.claim(conn, channels)
        for handover in handovers:
            handover.deliver()
        return taken

    async def _handle(self, conn: AsyncConnection, row: InboxRow) -> set[str]:
        # "Now" is when the person wrote: waits and hours count from then, not from
        # whenever the worker got to the message.
        turn = Turn(conn, row.contact, row.message, self.settings, row.received_at, self.content)
        outs = await self.route(turn)
        # turn.contact: the sender as the handler left them (opted out, say).
        channels = await outgoing.write(conn, self.splitters, turn.contact, outs, inbox_id=row.id)
        await inbox_repo.finish(conn, row.id)
        return channels

    async def _after_failure(self, conn: AsyncConnection, row: InboxRow) -> set[str]:
        """Count the failure (the message stays pending and is tried again at once);
        after a few, give up on it and say sorry."""
        attempts = await inbox_repo.note_attempt(conn, row.id)
        if attempts < MAX_ATTEMPTS:
            return set()
        await inbox_repo.finish(conn, row.id, status="failed")
        return await outgoing.write(
            conn,
            self.splitters,
            row.contact,
            [Outbound(texts.render("general.error"))],
            inbox_id=row.id,
        )
