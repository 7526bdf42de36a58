"""The inbox worker's batches: several messages a transaction, each in its own savepoint,
so a message whose handler fails is retried, then apologised for, alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.messages import Channel, InboundMessage, Outbound
from bot.store import inbox as inbox_repo
from bot.store.engine import Store
from bot.store.tables import contacts, inbox, outbox, sim_deliveries
from bot.worker import MAX_ATTEMPTS, Acknowledging, InboxWorker
from content import texts
from content.loader import ContentStore
from handlers.turn import Turn
from tests.conftest import make_settings

BROKEN = "break me"


async def echo_unless_broken(turn: Turn) -> list[Outbound]:
    # A write the savepoint must undo when the handler then fails.
    await turn.conn.execute(
        sim_deliveries.insert().values(address="x", text="x", meta={}, at=turn.now)
    )
    if turn.message.text == BROKEN:
        raise RuntimeError("handler bug")
    return [Outbound(f"got: {turn.message.text}")]


async def test_a_failing_message_does_not_undo_the_rest_of_its_batch(
    store: Store, tmp_path: Path
) -> None:
    notified: list[set[str]] = []
    worker = InboxWorker(
        store,
        make_settings(tmp_path),
        echo_unless_broken,
        {"sim": lambda text: [text]},
        notified.append,
        ContentStore(),
    )
    async with store.tx() as conn:
        for i, (who, text) in enumerate([("a", "one"), ("b", BROKEN), ("c", "three")]):
            msg = InboundMessage(channel=Channel.SIM, address=who, provider_id=f"p{i}", text=text)
            await inbox_repo.record(conn, msg)

    taken = await worker.process_batch()

    assert taken == 2 + MAX_ATTEMPTS  # the broken one was tried, then given up on
    async with store.read() as conn:
        statuses = dict((await conn.execute(select(inbox.c.text, inbox.c.status))).all())
        attempts = (
            await conn.execute(select(inbox.c.attempts).where(inbox.c.text == BROKEN))
        ).scalar_one()
        sent = dict(
            (
                await conn.execute(
                    select(contacts.c.address, outbox.c.text).join(
                        contacts, contacts.c.id == outbox.c.contact_id
                    )
                )
            ).all()
        )
        undone = len((await conn.execute(select(sim_deliveries.c.id))).all())
    assert statuses == {"one": "done", BROKEN: "failed", "three": "done"}
    assert attempts == MAX_ATTEMPTS
    assert sent == {"a": "got: one", "b": texts.render("general.error"), "c": "got: three"}
    assert undone == 2  # the two good handlers' writes stayed; the broken one's did not
    assert notified == [{"sim"}]
    assert await worker.process_batch() == 0


async def test_the_worker_gives_way_to_a_burst_of_acknowledgements_but_not_for_ever() -> None:
    acks = Acknowledging()
    await asyncio.wait_for(acks.give_way(), timeout=5)  # nothing in flight: no waiting
    acks.HOLD_BACK_SECONDS = 60.0
    stored = asyncio.Event()

    async def acknowledge() -> None:
        with acks.one():
            await stored.wait()

    burst = [asyncio.create_task(acknowledge()) for _ in range(Acknowledging.BURST)]
    await asyncio.sleep(0)  # each is now storing its message
    waiting = asyncio.create_task(acks.give_way())
    await asyncio.sleep(0)
    assert not waiting.done()
    stored.set()
    await asyncio.gather(*burst)
    await asyncio.wait_for(waiting, timeout=5)  # the burst is over: the worker goes on

    endless = asyncio.Event()
    acks.HOLD_BACK_SECONDS = 0.01

    async def never_done() -> None:
        with acks.one():
            await endless.wait()

    stuck = [asyncio.create_task(never_done()) for _ in range(Acknowledging.BURST)]
    await asyncio.sleep(0)
    await asyncio.wait_for(acks.give_way(), timeout=5)  # held back only briefly
    endless.set()
    await asyncio.gather(*stuck)
