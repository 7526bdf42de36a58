"""SQL statements per relayed text: a texter and a buddy chat through the simulator, and
every statement the service sends to SQLite is counted, by kind.

    .venv/bin/python bench/statements.py [--relays 10]

A relayed text's statements span storing it, handling it, handing the copy over,
delivering it and the receiving phone's long poll; the count is the figure to bring
down, since on one Python process each costs CPU whatever its work. It runs on the
tests' settings, whose dispatchers poll every 50 ms (the `SELECT outbox.id` rows).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # for tests.buddy_world

from tests.buddy_world import buddy_world


async def main(relays: int) -> None:
    with tempfile.TemporaryDirectory(prefix="nightowl-statements-") as tmp:
        async with buddy_world(Path(tmp), log={"level": "WARNING"}) as world:
            texter, sam, _ = await world.chat_with("texter-1")
            await world.idle()
            seen: list[str] = []

            def count(*args: Any) -> None:
                seen.append(re.sub(r"\s+", " ", args[2]))  # the statement's SQL

            engine = world.service.store.engine.sync_engine
            event.listen(engine, "before_cursor_execute", count)
            for i in range(relays):
                await texter.send(f"hello {i}")
                await sam.expect()
                await sam.send(f"reply {i}")
                await texter.expect()
            await world.idle()
            event.remove(engine, "before_cursor_execute", count)
    texts = 2 * relays
    print(f"{len(seen) / texts:.2f} statements per relayed text ({texts} texts)")
    for sql, n in collections.Counter(s[:100] for s in seen).most_common():
        print(f"{n / texts:6.2f}  {sql}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--relays", type=int, default=10, help="texter-buddy round trips")
    asyncio.run(main(parser.parse_args().relays))
