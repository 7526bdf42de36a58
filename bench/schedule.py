"""The scheduler under load: 100,000 daily prompts due in the same minute, with
1,000,000 future reminder rows waiting behind them.

Prints: the cost of a sweep when nothing is due (target < 5 ms, whatever the table
size) with the plan of its query, to show it reads the (status, due_at) index and not
the future rows; the time from "due" to every outbox row written (target < 10 s), with
how long each of the sweep's transactions held the SQLite writer and how long an
urgent write made alongside (a webhook's) had to wait; the same for the planning of
the following days' prompts, which is off the due path; on a Sunday (``--sunday``),
the weekly summaries worked out an hour before; and the process's peak RSS.

    .venv/bin/python bench/schedule.py                       # SQLite in a temp dir
    .venv/bin/python bench/schedule.py --due 10000 --future 100000
    .venv/bin/python bench/schedule.py --sunday              # and the weekly summaries
    .venv/bin/python bench/schedule.py --reset --db postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, func, insert, inspect, select, text

from bot.config import Settings
from bot.segments import split_telegram
from bot.store.engine import Store
from bot.store.migrate import upgrade
from bot.store.scheduler_tables import checkups, journal, schedule_prefs, scheduled
from bot.store.tables import contacts, outbox
from content.prompt_library import pick
from scheduler import queue, summaries
from scheduler.due import ROUND, sweep_due
from scheduler.prompts import plan_ahead

WEDNESDAY = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)  # 09:00 BST
SUNDAY = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)  # the prompt brings the weekly summary
CHECKINS = 16  # per person, two a week over the eight weeks of the Sunday summary
CHUNK = 20_000
SPLITTERS = {"sim": split_telegram, "telegram": split_telegram}


async def insert_chunked(store: Store, table: Any, rows: Any, total: int) -> None:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            async with store.tx() as conn:
                await conn.execute(insert(table), batch)
            batch = []
    if batch:
        async with store.tx() as conn:
            await conn.execute(insert(table), batch)


async def populate(store: Store, due: int, future: int, at: datetime) -> None:
    """``due`` people with a prompt due at ``at`` (every other one on Telegram), who
    want the weekly summary, each with two check-ins a week for eight weeks and every
    fourth with a check-up score; ``future`` reminders from the next day on."""
    now = at - timedelta(days=1)
    await insert_chunked(
        store,
        contacts,
        (
            {
                "id": i,
                "channel": "telegram" if i % 2 else "sim",
                "address": str(i) if i % 2 else f"bench{i}",
                "ref": f"B{i:07d}",
                "opted_out": False,
                "unreachable": False,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(1, due + 1)
        ),
        due,
    )
    await insert_chunked(
        store,
        schedule_prefs,
        (
            {"contact_id": i, "prompt_time": "09:00", "notices": False, "weekly": True}
            | {"staff_appts": False, "updated_at": now}
            # Planned to a day between today and four days on: the fifth whose plan
            # runs out tomorrow is topped up today, as on any day.
            | {"planned_until": at.date() + timedelta(days=1 + i % 5)}
            for i in range(1, due + 1)
        ),
        due,
    )
    await insert_chunked(
        store,
        journal,
        (
            {"contact_id": i, "measure": "cravings", "score": (i + n) % 6, "text": "3"}
            | {"shared": False, "created_at": at - timedelta(hours=12 + 84 * n + i % 7)}
            for i in range(1, due + 1)
            for n in range(CHECKINS)
        ),
        due * CHECKINS,
    )
    await insert_chunked(
        store,
        checkups,
        (
            {"contact_id": i, "started_at": now, "completed_at": now, "score": 10 + i % 51}
            for i in range(4, due + 1, 4)
        ),
        due // 4,
    )
    day = at.date()
    await insert_chunked(
        store,
        scheduled,
        (
            queue.new_row(
                "prompt",
                f"prompt:{i}:{day}",
                i,
                at + timedelta(seconds=i % 60),  # spread over the minute
                at + timedelta(hours=3),
                now,
                payload={"date": day.isoformat(), "prompt": pick(i, day).id},
            )
            for i in range(1, due + 1)
        ),
        due,
    )
    if at.weekday() == SUNDAY.weekday():  # each prompt's summary, worked out an hour ahead
        await insert_chunked(
            store,
            scheduled,
            (
                summaries.row_for(i, day, at + timedelta(seconds=i % 60), timedelta(hours=3), now)
                for i in range(1, due + 1)
            ),
            due,
        )
    await insert_chunked(
        store,
        scheduled,
        (
            queue.new_row(
                "reminder",
                f"appt:{n}:1h",
                n % due + 1,
                at + timedelta(days=1, seconds=n * 2),  # up to ~23 days ahead
                at + timedelta(days=1, seconds=n * 2 + 1800),
                now,
                ref_id=n,
            )
            for n in range(future)
        ),
        future,
    )


async def listing_plan(store: Store, now: datetime) -> list[str]:
    async with store.read() as conn:
        stmt = queue.listing(now, ROUND)
        sql = str(stmt.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN "
        rows = await conn.execute(text(prefix + sql))
        return [" ".join(str(c) for c in row) for row in rows]


async def prepare(store: Store, reset: bool) -> None:
    """Start from an empty database: SQLite's is new; a PostgreSQL one is emptied only
    when asked (it must be one kept for benchmarks)."""
    if not store.is_sqlite:
        async with store.tx() as conn:
            names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
            if names and not reset:
                sys.exit(f"{store.url} has tables; --reset empties it first")
            if names:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
    await upgrade(store)


class Writes:
    """How long each transaction lasted (from its turn at the SQLite writer to its
    commit), how long an urgent write made alongside every 10 ms (a webhook's) waited
    for its own, and the SQL statements the work itself ran (the probe's left out)."""

    def __init__(self, store: Store) -> None:
        self.store, self.held, self.waited = store, list[float](), list[float]()
        self.statements: list[str] = []
        self._tx = store.tx

    def count(self, *args: Any) -> None:
        """A ``before_cursor_execute`` listener: args[2] is the statement's SQL."""
        if args[2] != "SELECT 1":
            self.statements.append(args[2].lstrip()[:40])

    @asynccontextmanager
    async def timed_tx(self, urgent: bool = False) -> AsyncIterator[Any]:
        async with self._tx(urgent) as conn:
            began = time.perf_counter()
            yield conn
        self.held.append(time.perf_counter() - began)

    async def probe(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            async with self._tx(urgent=True) as conn:  # as a webhook's store goes
                await conn.execute(select(1))
            self.waited.append(time.perf_counter() - t0)
            await asyncio.sleep(0.01)

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[None]:
        stop = asyncio.Event()
        prober = asyncio.create_task(self.probe(stop))
        self.store.tx = self.timed_tx  # type: ignore[method-assign]
        engine = self.store.engine.sync_engine
        event.listen(engine, "before_cursor_execute", self.count)
        try:
            yield
        finally:
            event.remove(engine, "before_cursor_execute", self.count)
            self.store.tx = self._tx  # type: ignore[method-assign]
            stop.set()
            await prober

    def report(self) -> None:
        held, waited = self.held, self.waited
        lasted = "held the writer" if self.store.is_sqlite else "lasted"
        print(
            f"  {len(held)} transactions {lasted} median {ms(held, 0.5)} ms, "
            f"max {ms(held, 1)} ms; an urgent write alongside waited "
            f"median {ms(waited, 0.5)} ms, p99 {ms(waited, 0.99)} ms, max {ms(waited, 1)} ms "
            f"({len(waited)} writes); {len(self.statements)} statements, of which "
            f"{sum(sql.startswith('INSERT INTO outbox ') for sql in self.statements)} "
            "INSERT INTO outbox"
        )


def ms(values: list[float], q: float, digits: int = 0) -> str:
    """The ``q`` quantile of ``values`` (seconds) in milliseconds."""
    return f"{sorted(values)[min(len(values) - 1, int(q * len(values)))] * 1000:.{digits}f}"


async def count(store: Store, *where: Any) -> int:
    async with store.read() as conn:
        return int((await conn.execute(select(func.count()).where(*where))).scalar_one())


async def run(
    db: str | None, due: int, future: int, sweeps: int, reset: bool, at: datetime
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = db or f"sqlite+aiosqlite:///{tmp}/bench.db"
        store = Store(url)
        await prepare(store, reset)
        settings = Settings(database={"url": url}, log={"level": "WARNING"})
        began = time.perf_counter()
        await populate(store, due, future, at)
        print(
            f"populated {due:,} due prompts + {future:,} future reminders "
            f"in {time.perf_counter() - began:.1f} s"
        )

        idle_at = at - timedelta(hours=2)  # before a Sunday's summaries too
        timings = []
        for _ in range(sweeps):
            t0 = time.perf_counter()
            channels = await sweep_due(store, settings, SPLITTERS, idle_at)
            timings.append(time.perf_counter() - t0)
            assert channels == set()
        print(
            f"sweep with nothing due, {due + future:,} pending rows: "
            f"median {statistics.median(timings) * 1000:.2f} ms, p99 {ms(timings, 0.99, 2)} ms, "
            f"max {ms(timings, 1, 2)} ms over {sweeps} sweeps (target < 5 ms)"
        )
        print("plan of the sweep's query for due rows:")
        for line in await listing_plan(store, idle_at):
            print("   ", line)

        if at.weekday() == SUNDAY.weekday():
            writes = Writes(store)
            async with writes.watching():
                t0 = time.perf_counter()
                ahead = at - summaries.LEAD + timedelta(minutes=1)
                await sweep_due(store, settings, SPLITTERS, ahead)
                elapsed = time.perf_counter() - t0
            ready = await count(store, outbox.c.kind == "summary")
            print(
                f"an hour before: {due:,} weekly summaries worked out -> {ready:,} outbox rows "
                f"waiting for the prompts' time, in {elapsed:.2f} s"
            )
            writes.report()

        sent_at = at + timedelta(minutes=1)
        writes = Writes(store)
        async with writes.watching():
            t0 = time.perf_counter()
            await sweep_due(store, settings, SPLITTERS, sent_at)
            elapsed = time.perf_counter() - t0
        written = await count(store, outbox.c.kind == "prompt")
        print(f"{due:,} due prompts -> {written:,} outbox rows in {elapsed:.2f} s (target < 10 s)")
        writes.report()

        before = await count(store, scheduled.c.kind == "prompt")
        writes = Writes(store)
        async with writes.watching():
            t0 = time.perf_counter()
            people = await plan_ahead(store, settings, sent_at)
            elapsed = time.perf_counter() - t0
        added = await count(store, scheduled.c.kind == "prompt") - before
        print(
            f"planning ahead (not on the due path): {people:,} people running low got "
            f"{added:,} prompt rows in {elapsed:.2f} s"
        )
        writes.report()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--future", type=int, default=1_000_000)
    parser.add_argument("--sweeps", type=int, default=200)
    parser.add_argument("--reset", action="store_true", help="empty a PostgreSQL database first")
    parser.add_argument(
        "--sunday", action="store_true", help="a Sunday: each prompt brings the weekly summary"
    )
    args = parser.parse_args()
    at = SUNDAY if args.sunday else WEDNESDAY
    asyncio.run(run(args.db, args.due, args.future, args.sweeps, args.reset, at))


if __name__ == "__main__":
    main()
