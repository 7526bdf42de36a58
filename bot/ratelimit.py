"""Rate limits we enforce ourselves, before a provider has to refuse us.

``SlidingWindow`` allows at most N units (messages, or SMS segments) in any window.
A send counts from when it starts until a window after it *finishes*, so network delay
can never squeeze more than N arrivals into one of the provider's windows. A single
send heavier than N (a 3-segment SMS at 1 segment per second) goes alone and holds the
window for as long as its weight needs. It can be paused when a provider asks us to
back off.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class SlidingWindow:
    def __init__(self, per_second: float) -> None:
        self.capacity = max(1, math.floor(per_second))
        self.window = self.capacity / per_second
        self._recent: list[tuple[float, int]] = []  # (leaves the window at, weight)
        self._in_flight = 0
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._freed = asyncio.Event()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def _used(self, now: float) -> int:
        self._recent = [(until, w) for until, w in self._recent if until > now]
        return sum(w for _, w in self._recent) + self._in_flight

    def idle(self) -> bool:
        return self._used(time.monotonic()) == 0

    async def _wait_turn(self, weight: int) -> None:
        while True:
            now = time.monotonic()
            if self._paused_until > now:
                await asyncio.sleep(self._paused_until - now)
                continue
            used = self._used(now)
            if used == 0 or used + weight <= self.capacity:
                return
            if self._recent:
                await asyncio.sleep(min(until for until, _ in self._recent) - now)
            else:  # everything is in flight: wait for a send to finish
                self._freed.clear()
                await self._freed.wait()

    @asynccontextmanager
    async def slot(self, weight: int = 1) -> AsyncIterator[None]:
        async with self._lock:  # first come, first served
            await self._wait_turn(weight)
            self._in_flight += weight
        try:
            yield
        finally:
            self._in_flight -= weight
            hold = self.window * max(1.0, weight / self.capacity)
            self._recent.append((time.monotonic() + hold, weight))
            self._freed.set()


class KeyedSlidingWindow:
    """One ``SlidingWindow`` per key (a chat), forgotten once idle."""

    def __init__(self, per_second: float) -> None:
        self.per_second = per_second
        self._windows: dict[str, SlidingWindow] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = SlidingWindow(self.per_second)
        try:
            async with window.slot():
                yield
        finally:
            if len(self._windows) > 1024:
                self._windows = {k: w for k, w in self._windows.items() if not w.idle()}
