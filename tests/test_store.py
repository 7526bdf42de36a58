"""The store on SQLite, and on PostgreSQL when NIGHTOWL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, date, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, update

from bot.clock import utcnow
from bot.messages import Channel, InboundMessage, Outbound, Priority
from bot.store import contacts as contacts_repo
from bot.store import conversations as convs
from bot.store import inbox as inbox_repo
from bot.store import outbox as outbox_repo
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.scheduler_tables import schedule_prefs, scheduled
from bot.store.schema import metadata
from bot.store.sql import insert_many_ignore
from bot.store.tables import outbox
from scheduler import queue

LEASE = timedelta(seconds=30)


def one_part(text: str) -> list[str]:
    return [text]


async def contact(store: Store, address: str, channel: str = "sim") -> Contact:
    async with store.tx() as conn:
        return await contacts_repo.get_or_create(conn, channel, address)


def inbound(address: str, provider_id: str, text: str = "hi") -> InboundMessage:
    return InboundMessage(channel=Channel.SIM, address=address, provider_id=provider_id, text=text)


async def test_migrations_match_the_tables(store: Store) -> None:
    async with store.read() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert diff == []


async def test_rows_written_in_bulk_read_back_as_written_in_order_and_once(
    store: Store,
) -> None:
    # Every kind of column the sweeps write in bulk: text, integers, aware datetimes,
    # None, a JSON object with nesting and non-ASCII text, a date and a boolean.
    who = await contact(store, "bulk")
    at = datetime(2026, 10, 25, 1, 30, 15, 123456, tzinfo=UTC)
    rows = [
        queue.new_row(
            "prompt", f"bulk:{i}", who.id, at + timedelta(hours=i), at, at,
            payload={"date": "2026-10-25", "tags": ["a", i], "note": "café – 😊"},
            ref_id=i or None,
        )
        for i in range(3)
    ]  # fmt: skip
    prefs = [
        {"contact_id": who.id, "prompt_time": "09:00", "planned_until": date(2026, 10, 31)}
        | {"notices": True, "weekly": False, "staff_appts": False, "updated_at": at}
    ]
    async with store.tx() as conn:
        await insert_many_ignore(conn, scheduled, rows[1:], "key")
        await insert_many_ignore(conn, scheduled, rows, "key")  # two of three again
        await insert_many_ignore(conn, schedule_prefs, prefs, "contact_id")
    async with store.read() as conn:
        back = (await conn.execute(select(scheduled).order_by(scheduled.c.id))).all()
        [pref] = (await conn.execute(select(schedule_prefs))).all()
    written = [{k: r._mapping[k] for k in rows[0]} for r in back]
    assert written == [rows[1], rows[2], rows[0]]  # in order; a key already there is kept
    assert pref._mapping["planned_until"] == date(2026, 10, 31)
    assert (pref.notices, pref.weekly, pref.updated_at) == (True, False, at)


async def test_inbox_deduplicates_on_provider_id(store: Store) -> None:
    async with store.tx() as conn:
        first = await inbox_repo.record(conn, inbound("a", "p1"))
        again = await inbox_repo.record(conn, inbound("a", "p1", "different text"))
        other = await inbox_repo.record(conn, inbound("a", "p2"))
    assert first is not None and other is not None
    assert again is None


async def test_inbox_is_processed_in_order_per_sender(store: Store) -> None:
    async with store.tx() as conn:
        ids = [
            await inbox_repo.record(conn, inbound(addr, f"m{i}")) for i, addr in enumerate("abab")
        ]
    async with store.tx() as conn:
        first = await inbox_repo.claim_next(conn)
        assert first is not None and first.id == ids[0]
        # Still pending: a's next message must wait, b's first may go.
        second = await inbox_repo.claim_next(conn)
        assert second is not None and second.id == ids[0]
        await inbox_repo.finish(conn, first.id)
        nxt = await inbox_repo.claim_next(conn)
        assert nxt is not None and nxt.id == ids[1]


async def test_contacts_are_created_once_with_a_ref(store: Store) -> None:
    a = await contact(store, "+447700900001", "sms")
    again = await contact(store, "+447700900001", "sms")
    assert a.id == again.id and len(a.ref) == 6
    b = await contact(store, "+447700900001", "telegram")
    assert b.id != a.id and b.ref != a.ref


async def test_outbox_claims_by_priority_one_per_contact_and_in_order(store: Store) -> None:
    alice, bob = await contact(store, "alice"), await contact(store, "bob")
    async with store.tx() as conn:
        bulk = await outbox_repo.enqueue(
            conn, alice, Outbound("notice", priority=Priority.BULK), one_part
        )
        first = await outbox_repo.enqueue(conn, alice, Outbound("reply 1"), one_part)
        second = await outbox_repo.enqueue(conn, alice, Outbound("reply 2"), one_part)
        bobs = await outbox_repo.enqueue(conn, bob, Outbound("bob reply"), one_part)
    async with store.tx() as conn:
        claimed = await outbox_repo.claim(conn, "sim", 10, LEASE)
    assert [r.id for r in claimed] == [first[0], bobs[0]]
    async with store.tx() as conn:
        assert await outbox_repo.claim(conn, "sim", 10, LEASE) == []  # alice's reply 1 in flight
        await outbox_repo.mark_sent(conn, first[0], "p")
        nxt = await outbox_repo.claim(conn, "sim", 10, LEASE)
        assert [r.id for r in nxt] == [second[0]]
        await outbox_repo.mark_sent(conn, second[0], "p")
        last = await outbox_repo.claim(conn, "sim", 10, LEASE)
        assert [r.id for r in last] == [bulk[0]]


async def test_a_message_queued_for_later_holds_up_none_of_that_contacts_others(
    store: Store,
) -> None:
    dana = await contact(store, "dana")
    later = utcnow() + timedelta(hours=1)
    async with store.tx() as conn:
        [summary] = await outbox_repo.enqueue(
            conn, dana, Outbound("your week", priority=Priority.BULK, not_before=later), one_part
        )
        [notice] = await outbox_repo.enqueue(
            conn, dana, Outbound("notice", priority=Priority.BULK), one_part
        )
        claimed = await outbox_repo.claim(conn, "sim", 10, LEASE)
        [row] = (await conn.execute(select(outbox).where(outbox.c.id == summary))).all()
    assert [r.id for r in claimed] == [notice]  # not stuck behind the one for later
    assert row.next_attempt_at == later and row.status == "pending"


async def test_nothing_is_queued_for_opted_out_or_unreachable_contacts(store: Store) -> None:
    c = await contact(store, "carol")
    async with store.tx() as conn:
        await contacts_repo.set_flags(conn, c.id, opted_out=True)
        opted_out = await contacts_repo.get(conn, c.id)
        assert opted_out is not None
        assert await outbox_repo.enqueue(conn, opted_out, Outbound("hello"), one_part) == []
        confirm = await outbox_repo.enqueue(
            conn, opted_out, Outbound("bye", kind=outbox_repo.COMPLIANCE_KIND), one_part
        )
        assert len(confirm) == 1
        await contacts_repo.set_flags(conn, c.id, opted_out=False, unreachable=True)
        gone = await contacts_repo.get(conn, c.id)
        assert gone is not None
        assert (
            await outbox_repo.enqueue(
                conn, gone, Outbound("x", kind=outbox_repo.COMPLIANCE_KIND), one_part
            )
            == []
        )


async def test_dedupe_key_writes_once(store: Store) -> None:
    d = await contact(store, "dave")
    async with store.tx() as conn:
        once = await outbox_repo.enqueue(conn, d, Outbound("r", dedupe_key="appt:1:24h"), one_part)
        twice = await outbox_repo.enqueue(conn, d, Outbound("r", dedupe_key="appt:1:24h"), one_part)
    assert len(once) == 1 and twice == []


async def test_a_dead_senders_lease_expires_and_release_claims_frees_it(store: Store) -> None:
    e = await contact(store, "erin")
    async with store.tx() as conn:
        [row_id] = await outbox_repo.enqueue(conn, e, Outbound("r"), one_part)
        [claimed] = await outbox_repo.claim(conn, "sim", 5, LEASE)
        assert claimed.id == row_id and claimed.attempts == 1
        assert await outbox_repo.claim(conn, "sim", 5, LEASE) == []
        assert await outbox_repo.release_claims(conn) == 1
        [again] = await outbox_repo.claim(conn, "sim", 5, LEASE)
        assert again.id == row_id and again.attempts == 2
        # An expired lease comes due by itself.
        await conn.execute(
            update(outbox).where(outbox.c.id == row_id).values(next_attempt_at=utcnow() - LEASE)
        )
        [expired] = await outbox_repo.claim(conn, "sim", 5, LEASE)
        assert expired.id == row_id


async def test_delivery_status_never_goes_backwards(store: Store) -> None:
    f = await contact(store, "+447700900002", "sms")
    async with store.tx() as conn:
        [row_id] = await outbox_repo.enqueue(conn, f, Outbound("r"), one_part)
        await outbox_repo.mark_sent(conn, row_id, "SM1")
        assert (
            await outbox_repo.apply_delivery_status(conn, "sms", "SM1", "delivered", None) == f.id
        )
        await outbox_repo.apply_delivery_status(conn, "sms", "SM1", "sent", None)
        status = (
            await conn.execute(select(outbox.c.status).where(outbox.c.id == row_id))
        ).scalar_one()
        assert status == "delivered"
        assert (
            await outbox_repo.apply_delivery_status(conn, "sms", "SM-unknown", "sent", None) is None
        )


async def test_concurrent_claims_never_hand_out_a_row_twice(store: Store) -> None:
    people = [await contact(store, f"p{i}") for i in range(60)]
    async with store.tx() as conn:
        for p in people:
            await outbox_repo.enqueue(conn, p, Outbound("r"), one_part)

    async def claimer() -> list[int]:
        got: list[int] = []
        while True:
            async with store.tx() as conn:
                rows = await outbox_repo.claim(conn, "sim", 7, LEASE)
            if not rows:
                return got
            got.extend(r.id for r in rows)

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    everything = [i for r in results for i in r]
    assert len(everything) == 60
    assert len(set(everything)) == 60


async def test_a_waiting_texters_position_is_their_place_in_the_served_order(
    store: Store,
) -> None:
    """position() counts what waiting() lists: urgent first, over-the-cap texters last,
    then by arrival, whatever mix of the three the queue holds."""
    start = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    mix = [(u, s) for u in (False, True) for s in (False, True)] * 3
    random.Random(7).shuffle(mix)
    async with store.tx() as conn:
        for i, (urgent, slow) in enumerate(mix):
            texter = await contacts_repo.get_or_create(conn, "sim", f"texter-{i}")
            # Two arrive in the same instant: the earlier id goes first.
            at = start + timedelta(seconds=i // 2)
            await convs.create(conn, texter.id, "default", at, urgent=urgent, slow=slow)
        await convs.create(conn, texter.id, "other", start)  # another queue: not counted
    async with store.read() as conn:
        served = await convs.waiting(conn, ["default"])
        places = [await convs.position(conn, conv) for conv in served]
        count = await convs.waiting_count(conn, ["default"])
    assert [(c.urgent, c.slow) for c in served[:3]] == [(True, False)] * 3
    assert [(c.urgent, c.slow) for c in served[-3:]] == [(False, True)] * 3
    assert places == list(range(1, len(mix) + 1))
    assert count == len(mix)
