"""Our own rate limits: never more than N in any window, measured from send start to end."""

from __future__ import annotations

import asyncio
import time

from bot.ratelimit import KeyedSlidingWindow, Pacer, SlidingWindow


def max_in_window(intervals: list[tuple[float, float]], window: float) -> int:
    """Most sends whose start falls within ``window`` of another's start."""
    starts = sorted(s for s, _ in intervals)
    best = 0
    j = 0
    for i, start in enumerate(starts):
        while starts[i] - starts[j] >= window:
            j += 1
        best = max(best, i - j + 1)
    return best


async def test_sliding_window_caps_every_window() -> None:
    limiter = SlidingWindow(per_second=20)
    intervals: list[tuple[float, float]] = []

    async def send() -> None:
        async with limiter.slot():
            start = time.monotonic()
            await asyncio.sleep(0.003)  # stands in for the HTTP request
            intervals.append((start, time.monotonic()))

    began = time.monotonic()
    await asyncio.gather(*(send() for _ in range(50)))
    elapsed = time.monotonic() - began
    assert max_in_window(intervals, 1.0) <= 20
    assert elapsed >= 2.0  # 50 sends at 20/s need two full windows after the first burst
    assert elapsed < 3.5


async def test_pause_holds_every_sender() -> None:
    limiter = SlidingWindow(per_second=100)
    limiter.pause(0.3)
    began = time.monotonic()
    async with limiter.slot():
        pass
    assert time.monotonic() - began >= 0.29


async def test_keyed_windows_are_independent() -> None:
    limiter = KeyedSlidingWindow(per_second=1)
    began = time.monotonic()
    async with limiter.slot("a"), limiter.slot("b"):
        pass
    assert time.monotonic() - began < 0.2  # different chats do not wait for each other
    async with limiter.slot("a"):
        pass
    assert time.monotonic() - began >= 0.99  # the same chat waits its second


async def test_pacer_spaces_weighted_sends() -> None:
    pacer = Pacer(per_second=10)
    began = time.monotonic()
    for weight in (1, 3, 1):
        await pacer.wait(weight)
    # The third send starts after 1 + 3 units at 10 per second.
    assert 0.39 <= time.monotonic() - began < 0.6
