"""The running service: store, inbox worker, one dispatcher per enabled channel, and the
Telegram poller when configured. Everything here can be rebuilt from the database."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

from bot.channels.base import Sender
from bot.channels.sim import SimSender
from bot.channels.sms import SmsSender
from bot.channels.telegram import TelegramPoller, TelegramSender
from bot.config import Settings
from bot.dispatch import Dispatcher, Outlet
from bot.messages import InboundMessage
from bot.metrics import Metrics
from bot.store import inbox as inbox_repo
from bot.store import outbox as outbox_repo
from bot.store.engine import Store
from bot.store.group_commit import GroupCommit
from bot.worker import InboxWorker
from content.loader import ContentStore
from handlers.router import route
from scheduler import jobs  # noqa: F401  (registers the sweeps)
from scheduler.runner import SchedulerRunner, SweepContext

log = logging.getLogger("nightowl.service")


def build_senders(settings: Settings) -> dict[str, Sender]:
    senders: dict[str, Sender] = {}
    if settings.telegram.enabled:
        senders["telegram"] = TelegramSender(settings)
    if settings.sms.enabled:
        senders["sms"] = SmsSender(settings)
    if settings.sim_enabled:
        senders["sim"] = SimSender()
    return senders


class Service:
    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        self.settings = settings
        self.store = store or Store(settings.database.url, settings.database.busy_timeout_ms)
        self.metrics = Metrics()
        # Inbound messages jump the writer's line: their senders wait for our answer.
        self.inbox_writes = GroupCommit(self.store, urgent=True)
        self.content = ContentStore()
        self.senders = build_senders(settings)
        self.dispatchers = {
            name: Dispatcher(self.store, sender, settings.dispatch, self.metrics)
            for name, sender in self.senders.items()
        }
        self.outlet = Outlet(self.dispatchers)
        self.worker = InboxWorker(
            self.store,
            settings,
            route,
            {name: sender.split for name, sender in self.senders.items()},
            self.outlet,
            self.content,
        )
        self.scheduler = SchedulerRunner(
            SweepContext(self.store, settings, self.worker.splitters, self.outlet.notify)
        )
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def enabled(self, channel: str) -> bool:
        return channel in self.senders

    async def accept(self, msg: InboundMessage) -> int | None:
        """Store an inbound message durably; its inbox id, or None for a retry."""
        with self.worker.acknowledging.one():
            inbox_id = await self.inbox_writes.run(lambda conn: inbox_repo.record(conn, msg))
        channel = msg.channel.value
        if inbox_id is None:
            self.metrics.inbound.labels(channel, "duplicate").inc()
            log.info("duplicate inbound dropped", extra={"channel": channel})
            return None
        self.metrics.inbound.labels(channel, "accepted").inc()
        log.info("inbound stored", extra={"inbox_id": inbox_id, "channel": channel})
        self.worker.wakeup.set()
        return inbox_id

    async def start(self) -> None:
        if self.store.is_sqlite:
            # Single writer: any claim still held belongs to a process that died.
            async with self.store.tx() as conn:
                released = await outbox_repo.release_claims(conn)
            if released:
                log.info("released unfinished sends", extra={"count": released})
        for name, sender in self.senders.items():
            await sender.start()
            self._spawn(f"dispatch:{name}", self.dispatchers[name].run())
        self._spawn("inbox", self.worker.run())
        self.scheduler.start()
        if "telegram" in self.senders and self.settings.telegram.mode == "polling":
            sender = self.senders["telegram"]
            assert isinstance(sender, TelegramSender)
            poller = TelegramPoller(
                sender.bot, self.settings.telegram.poll_timeout_seconds, self.accept
            )
            self._spawn("telegram:polling", poller.run())

    def _spawn(self, name: str, coro: object) -> None:
        task: asyncio.Task[None] = asyncio.create_task(coro, name=name)  # type: ignore[arg-type]
        task.add_done_callback(self._died)
        self._tasks[name] = task

    def _died(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "background task stopped",
                extra={"task": task.get_name(), "error": type(task.exception()).__name__},
            )

    def health(self) -> dict[str, bool]:
        """Each background task, and the scheduler: alive or not."""
        alive = {name: not task.done() for name, task in self._tasks.items()}
        alive["scheduler"] = self.scheduler.running()
        return alive

    async def queue_depths(self) -> None:
        async with self.store.read() as conn:
            for queue, depths in (
                ("inbox", await inbox_repo.depth(conn)),
                ("outbox", await outbox_repo.depth(conn)),
            ):
                for channel in self.senders:
                    self.metrics.queue_depth.labels(queue, channel).set(depths.get(channel, 0))

    async def stop(self) -> None:
        self.scheduler.stop()
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with suppress(asyncio.CancelledError, Exception):
                await task
        for sender in self.senders.values():
            with suppress(Exception):
                await sender.stop()
        await self.store.close()
