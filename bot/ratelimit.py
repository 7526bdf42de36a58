"""Rate limits we enforce ourselves, before a provider has to refuse us.

``SlidingWindow`` allows at most N sends in any window; a send counts from when it
starts until the window after it *finishes*, so network delay can never squeeze N+1
arrivals into one of the provider's windows. ``Pacer`` spaces weighted sends (SMS
segments) evenly. Both can be paused when a provider asks us to back off.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Pausable:
    def __init__(self) -> None:
        self._paused_until = 0.0

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def _wait_pause(self) -> None:
        delay = self._paused_until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class SlidingWindow(_Pausable):
    def __init__(self, per_second: float) -> None:
        super().__init__()
        self.max_events = max(1, math.floor(per_second))
        self.window = self.max_events / per_second
        self._ends: deque[float] = deque()  # finish times of recent sends
        self._in_flight = 0
        self._lock = asyncio.Lock()
        self._freed = asyncio.Event()

    def _prune(self, now: float) -> None:
        while self._ends and now - self._ends[0] >= self.window:
            self._ends.popleft()

    def idle(self) -> bool:
        self._prune(time.monotonic())
        return not self._ends and not self._in_flight

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        async with self._lock:  # first come, first served
            while True:
                await self._wait_pause()
                now = time.monotonic()
                self._prune(now)
                if len(self._ends) + self._in_flight < self.max_events:
                    break
                if self._ends:
                    await asyncio.sleep(self.window - (now - self._ends[0]))
                else:  # all slots are in flight: wait for one to finish
                    self._freed.clear()
                    await self._freed.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._ends.append(time.monotonic())
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


class Pacer(_Pausable):
    """Sends ``weight`` units at ``per_second`` on average, spaced evenly."""

    def __init__(self, per_second: float) -> None:
        super().__init__()
        self.per_second = per_second
        self._next = 0.0
        self._lock = asyncio.Lock()

    async def wait(self, weight: int = 1) -> None:
        async with self._lock:
            await self._wait_pause()
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + weight / self.per_second
        if start > now:
            await asyncio.sleep(start - now)
