"""The inbox worker's batches: several messages a transaction, each in its own savepoint,
so a message whose handler fails is retried, then apologised for, alone; and the hand-over
of the replies it writes to their dispatcher, claimed in that same transaction."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.channels.sim import SimSender
from bot.dispatch import Dispatcher, Outlet
from bot.messages import Channel, InboundMessage, Outbound
from bot.metrics import Metrics
from bot.store import inbox as inbox_repo
from bot.store.engine import Store
from bot.store.tables import contacts, inbox, outbox, sim_deliveries
from bot.worker import BATCH_LIMIT, MAX_ATTEMPTS, Acknowledging, InboxWorker
from content import texts
from content.loader import ContentStore
from handlers.turn import Turn
from tests.conftest import eventually, make_settings

BROKEN = "break me"


async def echo_unless_broken(turn: Turn) -> list[Outbound]:
    # A write the savepoint must undo when the handler then fails.
    await turn.conn.execute(
        sim_deliveries.insert().values(address="x", text="x", meta={}, at=turn.now)
    )
    if turn.message.text == BROKEN:
        raise RuntimeError("handler bug")
    return [Outbound(f"got: {turn.message.text}")]


def echo_worker(store: Store, tmp_path: Path, outlet: Outlet | None = None) -> InboxWorker:
    """A worker that echoes; with no dispatchers every reply stays in the outbox. Its
    batches end by count, not time (as on SQLite), so a slow machine takes the same
    batches on either database."""
    worker = InboxWorker(
        store,
        make_settings(tmp_path),
        echo_unless_broken,
        {"sim": lambda text: [text]},
        outlet or Outlet({}),
        ContentStore(),
    )
    worker.batch_seconds = None
    return worker


async def test_a_failing_message_does_not_undo_the_rest_of_its_batch(
    store: Store, tmp_path: Path
) -> None:
    worker = echo_worker(store, tmp_path)
    await record_inbound(store, [("a", "one"), ("b", BROKEN), ("c", "three")])

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
    assert await worker.process_batch() == 0


async def record_inbound(store: Store, messages: list[tuple[str, str]]) -> None:
    async with store.tx() as conn:
        for i, (who, text) in enumerate(messages):
            msg = InboundMessage(channel=Channel.SIM, address=who, provider_id=f"p{i}", text=text)
            await inbox_repo.record(conn, msg)


async def test_replies_are_handed_to_their_dispatcher_as_many_as_it_has_room_for(
    store: Store, tmp_path: Path
) -> None:
    settings = make_settings(tmp_path, dispatch={"concurrency": 1, "poll_seconds": 3600})
    dispatcher = Dispatcher(store, SimSender(), settings.dispatch, Metrics())
    worker = echo_worker(store, tmp_path, Outlet({"sim": dispatcher}))
    await record_inbound(store, [("a", "one"), ("b", "two")])

    assert await worker.process_batch() == 2

    async def outbox_states() -> dict[str, tuple[str, int]]:
        async with store.read() as conn:
            rows = await conn.execute(
                select(contacts.c.address, outbox.c.status, outbox.c.attempts).join(
                    contacts, contacts.c.id == outbox.c.contact_id
                )
            )
            return {address: (status, attempts) for address, status, attempts in rows}

    # The dispatcher's own loop is not running: only the hand-over can have sent "a",
    # and with one free slot it took one reply and woke the dispatcher for the other.
    states = await eventually(outbox_states, lambda s: s["a"][0] == "sent")
    assert states == {"a": ("sent", 1), "b": ("pending", 0)}
    assert dispatcher.wakeup.is_set()

    loop = asyncio.create_task(dispatcher.run())
    try:
        states = await eventually(outbox_states, lambda s: s["b"][0] == "sent")
    finally:
        loop.cancel()
    assert states == {"a": ("sent", 1), "b": ("sent", 1)}


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


async def test_a_batch_that_empties_the_inbox_says_so_and_one_cut_short_does_not(
    store: Store, tmp_path: Path
) -> None:
    """After emptying the inbox the worker waits to hear of a new message instead of
    opening another (empty) write transaction; after a full batch it goes straight on."""
    worker = echo_worker(store, tmp_path)
    await record_inbound(store, [(f"p{i}", "hi") for i in range(BATCH_LIMIT + 1)])

    assert await worker.process_batch() == BATCH_LIMIT
    assert worker.more_waiting
    assert await worker.process_batch() == 1
    assert not worker.more_waiting


async def test_a_batch_stops_taking_messages_once_its_time_is_up(
    store: Store, tmp_path: Path
) -> None:
    """Replies leave when their batch commits: a long batch would hold the first one."""
    worker = echo_worker(store, tmp_path)
    worker.batch_seconds = 0.0
    await record_inbound(store, [("a", "one"), ("b", "two")])

    assert await worker.process_batch() == 1
    assert worker.more_waiting
