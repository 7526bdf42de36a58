"""The scheduler under load: 100,000 daily prompts due in the same minute, with
1,000,000 future reminder rows waiting behind them.

Prints: the time from "due" to every outbox row written (target < 10 s); the cost of
a sweep when nothing is due (target < 5 ms, whatever the table size) with the claim
query's plan, to show it reads the (status, due_at) index and not the future rows;
and the process's peak RSS.

    .venv/bin/python bench/schedule.py                       # SQLite in a temp dir
    .venv/bin/python bench/schedule.py --due 10000 --future 100000
    .venv/bin/python bench/schedule.py --db postgresql+asyncpg://postgres@127.0.0.1/bench
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text

from bot.config import Settings
from bot.segments import split_telegram
from bot.store.engine import Store
from bot.store.migrate import upgrade
from bot.store.scheduler_tables import schedule_prefs, scheduled
from bot.store.tables import contacts, outbox
from content.prompt_library import pick
from scheduler import queue
from scheduler.due import sweep_due

DUE_AT = datetime(2026, 6, 3, 8, 0, tzinfo=UTC)  # a Wednesday, 09:00 BST
CHUNK = 20_000
SPLITTERS = {"sim": split_telegram}


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


async def populate(store: Store, due: int, future: int) -> None:
    now = DUE_AT - timedelta(days=1)
    await insert_chunked(
        store,
        contacts,
        (
            {
                "id": i,
                "channel": "sim",
                "address": f"bench{i}",
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
            for i in range(1, due + 1)
        ),
        due,
    )
    day = DUE_AT.date()
    await insert_chunked(
        store,
        scheduled,
        (
            queue.new_row(
                "prompt",
                f"prompt:{i}:{day}",
                i,
                DUE_AT + timedelta(seconds=i % 60),  # spread over the minute
                DUE_AT + timedelta(hours=3),
                now,
                payload={"date": day.isoformat(), "prompt": pick(i, day).id},
            )
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
                DUE_AT + timedelta(days=1, seconds=n * 2),  # up to ~23 days ahead
                DUE_AT + timedelta(days=1, seconds=n * 2 + 1800),
                now,
                ref_id=n,
            )
            for n in range(future)
        ),
        future,
    )


async def claim_plan(store: Store, now: datetime) -> list[str]:
    stmt = (
        select(scheduled)
        .where(scheduled.c.status == "pending", scheduled.c.due_at <= now)
        .order_by(scheduled.c.due_at)
        .limit(5000)
    )
    async with store.read() as conn:
        sql = str(stmt.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
        prefix = "EXPLAIN QUERY PLAN " if store.is_sqlite else "EXPLAIN "
        rows = await conn.execute(text(prefix + sql))
        return [" ".join(str(c) for c in row) for row in rows]


async def run(db: str | None, due: int, future: int, sweeps: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = db or f"sqlite+aiosqlite:///{tmp}/bench.db"
        store = Store(url)
        await upgrade(store)
        settings = Settings(database={"url": url}, log={"level": "WARNING"})
        began = time.perf_counter()
        await populate(store, due, future)
        print(
            f"populated {due:,} due prompts + {future:,} future reminders "
            f"in {time.perf_counter() - began:.1f} s"
        )

        idle_at = DUE_AT - timedelta(minutes=1)
        timings = []
        for _ in range(sweeps):
            t0 = time.perf_counter()
            channels = await sweep_due(store, settings, SPLITTERS, idle_at)
            timings.append((time.perf_counter() - t0) * 1000)
            assert channels == set()
        print(
            f"sweep with nothing due, {due + future:,} pending rows: "
            f"median {statistics.median(timings):.2f} ms, max {max(timings):.2f} ms "
            f"over {sweeps} sweeps (target < 5 ms)"
        )
        print("claim query plan:")
        for line in await claim_plan(store, idle_at):
            print("   ", line)

        t0 = time.perf_counter()
        await sweep_due(store, settings, SPLITTERS, DUE_AT + timedelta(minutes=1))
        elapsed = time.perf_counter() - t0
        async with store.read() as conn:
            written = (
                await conn.execute(select(func.count()).where(outbox.c.kind == "prompt"))
            ).scalar_one()
            lined_up = (
                await conn.execute(
                    select(func.count()).where(
                        scheduled.c.kind == "prompt", scheduled.c.status == "pending"
                    )
                )
            ).scalar_one()
        print(
            f"{due:,} due prompts -> {written:,} outbox rows (and {lined_up:,} for tomorrow) "
            f"in {elapsed:.2f} s (target < 10 s)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="database URL (default: SQLite in a temp dir)")
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--future", type=int, default=1_000_000)
    parser.add_argument("--sweeps", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.due, args.future, args.sweeps))


if __name__ == "__main__":
    main()
