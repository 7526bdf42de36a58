"""One dispatcher per channel: claims due outbox rows, sends them under the channel's
rate limits, and records the outcome.

Transient failures come back later with exponential backoff (or when the provider
said); permanent ones end the row and, where they say something about the person
(blocked the bot, unsubscribed, not a real number), mark the contact so nothing more
is queued for them.

A message a handler has just written need not wait for its dispatcher to find it: the
inbox worker claims it in the transaction that wrote it (``Outlet``) and hands it over
once that commits, so a relayed text costs one transaction less and is on its way at
once. Whatever the hand-over does not take (no free slot, a row written elsewhere)
the dispatcher claims itself, as before.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.channels.base import PermanentSendError, Sender, TransientSendError
from bot.clock import utcnow
from bot.config import DispatchConfig
from bot.metrics import Metrics
from bot.store import contacts as contacts_repo
from bot.store import outbox as outbox_repo
from bot.store.engine import Store
from bot.store.group_commit import GroupCommit
from bot.store.outbox import COMPLIANCE_KIND, OutRow

log = logging.getLogger("nightowl.dispatch")


def backoff(attempt: int, cfg: DispatchConfig) -> float:
    """Seconds before retry ``attempt`` (1-based), with ±20% jitter."""
    base = min(cfg.backoff_max_seconds, cfg.backoff_base_seconds * 2 ** (attempt - 1))
    return base * random.uniform(0.8, 1.2)


class Dispatcher:
    def __init__(self, store: Store, sender: Sender, cfg: DispatchConfig, metrics: Metrics) -> None:
        self.store = store
        self.sender = sender
        self.cfg = cfg
        self.metrics = metrics
        self.channel = sender.channel
        self.lease = timedelta(seconds=cfg.lease_seconds)
        self.outcomes = GroupCommit(store)  # each send's outcome, recorded in batches
        self.wakeup = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._slot_freed = asyncio.Event()

    def notify(self) -> None:
        self.wakeup.set()

    def free_slots(self) -> int:
        return max(0, self.cfg.concurrency - len(self._in_flight))

    async def claim_within(self, conn: AsyncConnection, limit: int) -> list[OutRow]:
        """Claim up to ``limit`` due rows in the caller's transaction; ``take`` them once
        it has committed."""
        return await outbox_repo.claim(conn, self.channel, limit, self.lease) if limit else []

    def take(self, rows: list[OutRow]) -> None:
        """Start delivering rows claimed for us (in a transaction now committed)."""
        for row in rows:
            task = asyncio.create_task(self._deliver(row))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    async def run(self) -> None:
        try:
            while True:
                if not self.free_slots():
                    self._slot_freed.clear()
                    await self._slot_freed.wait()
                    continue
                told = self.wakeup.is_set()  # someone just queued a send for us
                self.wakeup.clear()
                try:
                    rows = await self._claim(look_first=not told)
                except Exception:  # the database is briefly unavailable: try again soon
                    log.exception("claiming sends failed", extra={"channel": self.channel})
                    rows = []
                self.take(rows)
                if not rows:
                    await self._idle()
        finally:
            for task in self._in_flight:
                task.cancel()

    async def _claim(self, look_first: bool) -> list[OutRow]:
        # A poll looks before it claims: SQLite has one writer, and most polls find
        # nothing to send.
        if look_first:
            async with self.store.read() as conn:
                if not await outbox_repo.any_due(conn, self.channel):
                    return []
        # The free slots are counted inside the transaction: a hand-over may have
        # taken some while this one waited for its turn.
        async with self.store.tx() as conn:
            return await self.claim_within(conn, self.free_slots())

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_freed.set()
        if not task.cancelled() and task.exception() is not None:
            log.error("delivery task crashed", extra={"error": type(task.exception()).__name__})

    async def _idle(self) -> None:
        # Sleep until told there is work, or the next poll (for retries coming due and
        # rows written by other processes).
        with suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.wait(), timeout=self.cfg.poll_seconds)

    async def _deliver(self, row: OutRow) -> None:
        skip = self._skip_reason(row)
        if skip:
            await self._close(row, "skipped", skip)
            return
        try:
            provider_id = await self.sender.send(row)
        except TransientSendError as exc:
            await self._retry(row, exc)
            return
        except PermanentSendError as exc:
            await self._fail(row, exc)
            return
        except Exception as exc:  # a bug or an unexpected library error: retry, loudly
            log.exception("unexpected send error", extra={"outbox_id": row.id})
            await self._retry(row, TransientSendError(f"{self.channel}:{type(exc).__name__}"))
            return
        await self.outcomes.run(lambda conn: self.sender.record_sent(conn, row, provider_id))
        self.sender.after_sent(row)
        self.metrics.outbound.labels(self.channel, "sent").inc()
        self.metrics.dispatch_latency.labels(self.channel).observe(
            (utcnow() - row.created_at).total_seconds()
        )
        log.info(
            "sent",
            extra={"outbox_id": row.id, "contact_id": row.contact_id, "channel": self.channel},
        )

    def _skip_reason(self, row: OutRow) -> str | None:
        if row.expires_at is not None and utcnow() > row.expires_at:
            return "expired"
        if row.contact_unreachable:
            return "unreachable"
        if row.contact_opted_out and row.kind != COMPLIANCE_KIND:
            return "opted_out"
        return None

    async def _close(self, row: OutRow, status: str, reason: str) -> None:
        await self.outcomes.run(lambda conn: outbox_repo.close(conn, row.id, status, reason))
        self.metrics.outbound.labels(self.channel, status).inc()
        log.info(status, extra={"outbox_id": row.id, "reason": reason, "channel": self.channel})

    async def _retry(self, row: OutRow, exc: TransientSendError) -> None:
        if row.attempts >= self.cfg.max_attempts:
            await self._close(row, "failed", exc.reason)
            return
        delay = exc.retry_after if exc.retry_after is not None else backoff(row.attempts, self.cfg)
        await self.outcomes.run(
            lambda conn: outbox_repo.retry_later(conn, row.id, delay, exc.reason)
        )
        self.metrics.outbound.labels(self.channel, "retry").inc()
        log.warning(
            "send will be retried",
            extra={
                "outbox_id": row.id,
                "reason": exc.reason,
                "attempt": row.attempts,
                "retry_in": round(delay, 2),
            },
        )

    async def _fail(self, row: OutRow, exc: PermanentSendError) -> None:

        async def record(conn: AsyncConnection) -> None:
            await outbox_repo.close(conn, row.id, "failed", exc.reason)
            if exc.contact_state == "opted_out":
                await contacts_repo.set_flags(conn, row.contact_id, opted_out=True)
            elif exc.contact_state == "unreachable":
                await contacts_repo.set_flags(conn, row.contact_id, unreachable=True)

        await self.outcomes.run(record)
        self.metrics.outbound.labels(self.channel, "failed").inc()
        log.warning(
            "send failed for good",
            extra={"outbox_id": row.id, "contact_id": row.contact_id, "reason": exc.reason},
        )


@dataclass(frozen=True)
class Handover:
    """Rows claimed for a dispatcher in someone else's transaction."""

    dispatcher: Dispatcher
    rows: list[OutRow]
    more: bool  # the claim was cut short by the free slots: more may be due

    def deliver(self) -> None:
        """Once the transaction has committed: start the sends; wake the dispatcher
        for the rest."""
        self.dispatcher.take(self.rows)
        if self.more:
            self.dispatcher.notify()


class Outlet:
    """The dispatchers, as the code that writes outbox rows sees them."""

    def __init__(self, dispatchers: Mapping[str, Dispatcher]) -> None:
        self.dispatchers = dispatchers

    def notify(self, channels: set[str]) -> None:
        """Tell the dispatchers of ``channels`` that they have rows to claim."""
        for channel in channels & self.dispatchers.keys():
            self.dispatchers[channel].notify()

    async def claim(self, conn: AsyncConnection, channels: set[str]) -> list[Handover]:
        """Claim, in the writer's transaction, what ``channels`` can send now."""
        handovers = []
        for channel in sorted(channels & self.dispatchers.keys()):
            dispatcher = self.dispatchers[channel]
            free = dispatcher.free_slots()
            rows = await dispatcher.claim_within(conn, free)
            handovers.append(Handover(dispatcher, rows, more=len(rows) == free))
        return handovers
