"""APScheduler wiring: short periodic *sweeps* that claim due rows from the store.

Nothing durable lives inside APScheduler: pending work is rows with a ``due_at``, so a
restart (or a second instance) just sweeps again. A sweep returns the channels it
queued messages for, so their dispatchers can be woken at once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot import outgoing
from bot.config import Settings
from bot.store.engine import Store

log = logging.getLogger("nightowl.scheduler")


@dataclass
class SweepContext:
    store: Store
    settings: Settings
    splitters: outgoing.Splitters
    notify: Callable[[set[str]], None]


Sweep = Callable[[SweepContext], Awaitable[set[str]]]


@dataclass(frozen=True)
class SweepSpec:
    name: str
    every_seconds: float
    run: Sweep


@dataclass
class Registry:
    """Features add their sweeps here at import time; the runner schedules them all."""

    sweeps: list[SweepSpec] = field(default_factory=list)

    def add(self, name: str, every_seconds: float) -> Callable[[Sweep], Sweep]:
        def register(fn: Sweep) -> Sweep:
            self.sweeps.append(SweepSpec(name, every_seconds, fn))
            return fn

        return register


REGISTRY = Registry()


class SchedulerRunner:
    def __init__(self, ctx: SweepContext, registry: Registry = REGISTRY) -> None:
        self.ctx = ctx
        self.registry = registry
        self.scheduler = AsyncIOScheduler(timezone="UTC")

    async def _run(self, spec: SweepSpec) -> None:
        try:
            channels = await spec.run(self.ctx)
        except Exception:
            log.exception("sweep failed", extra={"sweep": spec.name})
            return
        if channels:
            self.ctx.notify(channels)

    def start(self) -> None:
        for spec in self.registry.sweeps:
            self.scheduler.add_job(
                self._run,
                "interval",
                seconds=spec.every_seconds,
                args=[spec],
                id=spec.name,
                max_instances=1,  # a slow sweep is skipped, never run twice at once
                coalesce=True,
                next_run_time=datetime.now(UTC),  # once at start-up: resume after a restart
            )
        self.scheduler.start()

    def running(self) -> bool:
        return bool(self.scheduler.running)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
