"""Our own rate limits: never more than N in any window, measured from send start to end."""

from __future__ import annotations

import asyncio
import time

from bot.ratelimit import KeyedSlidingWindow, SlidingWindow


def max_in_window(intervals: list[tuple[float, float]], window: float) -> int:
    """Most sends whose start falls within ``window`` of another's start."""
    starts = sorted(s for s, _ in intervals)
    best = 0
    j = 0
    for i, start in enumerate(starts):
        while start - starts[j] >= window:
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
    assert elapsed < 6.0  # far below what a stricter limit would take


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
    assert time.monotonic() - began < 0.9  # different chats do not wait a window for each other
    async with limiter.slot("a"):
        pass
    assert time.monotonic() - began >= 0.99  # the same chat waits its second


async def test_weighted_sends_share_the_window() -> None:
    limiter = SlidingWindow(per_second=4)
    finished: list[float] = []
    began = time.monotonic()
    for weight in (2, 2, 2):
        async with limiter.slot(weight):
            pass
        finished.append(time.monotonic() - began)
    # Two 2-unit sends fit one window of 4; the third waits for the first to leave it.
    assert finished[1] < 0.9  # no window was waited for
    assert finished[2] >= 0.99


async def test_a_send_heavier_than_the_window_goes_alone_and_holds_it_longer() -> None:
    limiter = SlidingWindow(per_second=2)
    began = time.monotonic()
    async with limiter.slot(4):  # twice the capacity: allowed alone
        pass
    assert time.monotonic() - began < 0.9
    async with limiter.slot(1):
        pass
    assert time.monotonic() - began >= 1.99  # 4 units at 2 per second
