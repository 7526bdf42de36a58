"""Prompts planned ahead and sent in bulk, with an injected clock: the planning sweep,
what changes after a prompt is planned (opt-out, a new time, a changed library), the
set-based write of a message many people get (the same rows as one by one), crashes
and races in the middle of it, and the writer shared between batches. SQLite always,
PostgreSQL too when NIGHTOWL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.messages import Outbound
from bot.store import contacts as contacts_repo
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.migrate import upgrade
from bot.store.scheduler_tables import schedule_prefs, scheduled
from bot.store.sql import among
from bot.store.tables import contacts, outbox
from content import texts
from content.prompt_library import by_id, pick
from scheduler import due, queue
from scheduler import prompts as prompt_schedule
from scheduler.due import JOBS, Job, Person, sweep_due
from scheduler.queue import Due
from tests.test_scheduling_sweeps import (
    LONDON,
    SETTINGS,
    SPLIT,
    Exploding,
    person,
    rows,
    sent,
    sweep,
    utc,
)

SUBSCRIBED = utc(2026, 6, 1, 12)  # BST: a 09:00 prompt is at 08:00 UTC


async def subscribers(
    store: Store, n: int, channel: str = "sim", at: datetime = SUBSCRIBED
) -> list[Contact]:
    """``n`` people with prompts at 09:00, subscribed ``at``."""
    people = []
    for i in range(n):
        who = await person(store, f"{channel}-{at:%d%H}-{i}", channel, prompt_time="09:00")
        async with store.tx() as conn:
            await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, at)
        people.append(who)
    return people


PROMPT = scheduled.c.kind == "prompt"
SUMMARY = scheduled.c.kind == "summary"


def day_of(row: Any) -> str:
    return str(row.payload["date"])


# ------------------------------------------------------------------ planning


async def test_subscribing_plans_a_week_and_the_planning_sweep_tops_it_up(store: Store) -> None:
    [early] = await subscribers(store, 1, at=utc(2026, 6, 1, 7))  # 08:00 BST: from today
    [late] = await subscribers(store, 1)  # 13:00 BST: today's has gone, from tomorrow
    week = [date(2026, 6, 1) + timedelta(days=n) for n in range(prompt_schedule.AHEAD + 1)]
    for who, days in ((early, week), (late, week[1:])):
        planned = await rows(store, scheduled.c.contact_id == who.id, PROMPT)
        assert [day_of(r) for r in planned] == [d.isoformat() for d in days]
        assert {r.status for r in planned} == {"pending"}
        for r in planned:  # each day's prompt chosen now
            assert r.payload["prompt"] == pick(who.id, date.fromisoformat(day_of(r))).id
        # Sunday's summary: worked out an hour before the prompt, sent with it.
        [summary] = await rows(store, scheduled.c.contact_id == who.id, SUMMARY)
        assert summary.key == f"summary:{who.id}:2026-06-07"
        assert summary.due_at == utc(2026, 6, 7, 7)  # 08:00 BST
        assert summary.payload["send_at"] == utc(2026, 6, 7, 8).isoformat()

    # Planned to 8 June: nothing to do while LOW days are left, then both topped up.
    assert await prompt_schedule.plan_ahead(store, SETTINGS, utc(2026, 6, 6, 23)) == 0
    assert await prompt_schedule.plan_ahead(store, SETTINGS, utc(2026, 6, 7, 0)) == 2
    for who in (early, late):
        planned = await rows(store, scheduled.c.contact_id == who.id, PROMPT)
        assert day_of(planned[-1]) == "2026-06-14"  # 7 June + AHEAD
        assert len({day_of(r) for r in planned}) == len(planned)
    async with store.read() as conn:
        until = (await conn.execute(select(schedule_prefs.c.planned_until))).scalars().all()
    assert set(until) == {date(2026, 6, 14)}


async def test_prompts_off_drops_the_plan_and_a_new_time_replans_without_a_second_prompt_today(
    store: Store,
) -> None:
    [who] = await subscribers(store, 1)
    await sweep(store, utc(2026, 6, 2, 8))  # today's (2 June) sent at 09:00 BST
    async with store.tx() as conn:  # 10:00 BST: move to 11:00, later today
        await prompt_schedule.subscribe(conn, who.id, time(11), LONDON, utc(2026, 6, 2, 9))
    pending = await rows(
        store, scheduled.c.contact_id == who.id, scheduled.c.status == "pending", PROMPT
    )
    assert day_of(pending[0]) == "2026-06-03"  # today had its prompt already
    assert {r.due_at.astimezone(LONDON).time() for r in pending} == {time(11)}
    await sweep(store, utc(2026, 6, 2, 10))
    assert len(await sent(store, outbox.c.contact_id == who.id)) == 1

    async with store.tx() as conn:
        await prompt_schedule.subscribe(conn, who.id, None, LONDON, utc(2026, 6, 2, 12))
    assert (
        await rows(store, scheduled.c.contact_id == who.id, scheduled.c.status == "pending") == []
    )
    assert await prompt_schedule.plan_ahead(store, SETTINGS, utc(2026, 6, 20)) == 0


async def test_a_planned_prompt_goes_to_nobody_who_opted_out_or_cannot_be_reached(
    store: Store,
) -> None:
    """Enough people for the set-based write: opting out after the week was planned
    still stops the next prompt, and opting back in brings the one after."""
    people = await subscribers(store, due.SHARED + 5)
    stopped, gone = people[0], people[1]
    async with store.tx() as conn:
        await contacts_repo.set_flags(conn, stopped.id, opted_out=True)
        await contacts_repo.set_flags(conn, gone.id, unreachable=True)
    await sweep(store, utc(2026, 6, 2, 8))
    got = {o.contact_id for o in await sent(store)}
    assert got == {p.id for p in people[2:]}
    done = await rows(store, scheduled.c.status == "skipped")
    assert {(r.contact_id, r.reason) for r in done} == {
        (stopped.id, "opted_out"),
        (gone.id, "unreachable"),
    }
    async with store.tx() as conn:
        await contacts_repo.set_flags(conn, stopped.id, opted_out=False)
    await sweep(store, utc(2026, 6, 3, 8))
    assert [o.dedupe_key for o in await sent(store, outbox.c.contact_id == stopped.id)] == [
        f"prompt:{stopped.id}:2026-06-03"
    ]


async def test_a_prompt_chosen_before_the_library_changed_still_sends_a_good_one(
    store: Store,
) -> None:
    [who] = await subscribers(store, 1)
    key = f"prompt:{who.id}:2026-06-02"
    async with store.tx() as conn:  # planned with a prompt the library no longer has
        await conn.execute(
            update(scheduled)
            .where(scheduled.c.key == key)
            .values(payload={"date": "2026-06-02", "prompt": "gone99"})
        )
    await sweep(store, utc(2026, 6, 2, 8))
    [out] = await sent(store)
    prompt = pick(who.id, date(2026, 6, 2))
    assert "gone99" not in by_id()
    assert out.text == texts.render("prompts.daily", prompt=prompt.text)
    assert out.dedupe_key == key


async def test_after_a_week_down_todays_prompt_still_goes_within_its_grace(store: Store) -> None:
    [who] = await subscribers(store, 1)  # planned to 8 June
    back = utc(2026, 6, 15, 9, 30)  # 10:30 BST on 15 June: today's 09:00 is 1.5 h late
    await sweep(store, back)
    [out] = await sent(store, outbox.c.dedupe_key == f"prompt:{who.id}:2026-06-15")
    assert out.contact_id == who.id
    missed = await rows(store, scheduled.c.reason == "missed", PROMPT)
    assert [day_of(r) for r in missed] == [f"2026-06-0{d}" for d in range(2, 9)]
    [summary] = await rows(store, scheduled.c.reason == "missed", SUMMARY)
    assert day_of(summary) == "2026-06-07"


# ------------------------------------------------------- the set-based write


async def test_a_message_to_many_is_written_like_one_by_one(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two prompts to people on every channel, on 2 June row by row (executemany) and on
    3 June set-based, both in one statement: the same outbox rows. Telegram's come in
    two parts here."""
    people = [who for ch in ("sim", "sms", "telegram") for who in await subscribers(store, 16, ch)]
    check_in = {who.id for who in people[::2]}  # a check-in, whose meta has buttons
    async with store.tx() as conn:
        for day in ("2026-06-02", "2026-06-03"):
            for prompt, ids in (("chk01", check_in), ("con01", {p.id for p in people} - check_in)):
                await conn.execute(
                    update(scheduled)
                    .where(scheduled.c.key.endswith(day), scheduled.c.contact_id.in_(ids))
                    .values(payload={"date": day, "prompt": prompt})
                )
    halves = {**SPLIT, "telegram": lambda text: [text[:20], text[20:]]}
    monkeypatch.setattr(due, "SHARED", 10**9)
    await sweep_due(store, SETTINGS, halves, utc(2026, 6, 2, 8))
    monkeypatch.setattr(due, "SHARED", 8)
    await sweep_due(store, SETTINGS, halves, utc(2026, 6, 3, 8))

    def shape(o: Any) -> tuple[Any, ...]:
        assert o.created_at == o.updated_at == o.next_attempt_at
        second = o.dedupe_key.endswith("#1")
        return (o.contact_id, o.channel, o.kind, o.priority, o.text, json.dumps(o.meta), o.segments,
                o.status, o.attempts, o.expires_at, o.inbox_id, second)  # fmt: skip

    days = [await sent(store, outbox.c.dedupe_key.contains(day)) for day in ("06-02", "06-03")]
    assert {shape(o) for o in days[0]} == {shape(o) for o in days[1]}
    for out, day in zip(days, ("2026-06-02", "2026-06-03"), strict=True):
        assert len(out) == len(people) + 16  # Telegram's second parts
        for who in people:
            key = f"prompt:{who.id}:{day}"
            mine = [o for o in out if o.dedupe_key.startswith(key)]  # in id order
            prompt = by_id()["chk01" if who.id in check_in else "con01"]
            parts = halves[who.channel](texts.render("prompts.daily", prompt=prompt.text))
            assert [o.text for o in mine] == parts
            assert [o.dedupe_key for o in mine] == [key, f"{key}#1"][: len(parts)]
            assert {o.contact_id for o in mine} == {who.id}
            buttons = {"buttons": [[[str(n), str(n)] for n in range(6)]]}
            assert mine[0].meta == {"tag": "prompt"} | (buttons if who.id in check_in else {})


class TwoParts(Job):
    """A prompt after a first message keyed apart."""

    kind = "prompt"

    def __init__(self, real: Job) -> None:
        self.real = real

    async def render(self, conn: Any, row: Due, who: Person, now: datetime) -> Any:
        prompt = await self.real.render(conn, row, who, now)
        return [Outbound("first this", dedupe_key=f"{row.key}:before"), *prompt]


async def test_a_rows_messages_keep_their_order_when_many_get_the_same(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await subscribers(store, due.SHARED + 5)
    monkeypatch.setitem(JOBS, "prompt", TwoParts(JOBS["prompt"]))
    await sweep(store, utc(2026, 6, 2, 8))
    for who in people:
        out = await sent(store, outbox.c.contact_id == who.id)  # in id order
        assert [o.dedupe_key for o in out] == [
            f"prompt:{who.id}:2026-06-02:before",
            f"prompt:{who.id}:2026-06-02",
        ]


async def test_a_crash_in_the_middle_of_a_bulk_sweep_then_a_restart_neither_loses_nor_doubles(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await subscribers(store, 50)
    at = utc(2026, 6, 2, 8)
    monkeypatch.setitem(JOBS, "prompt", Exploding(JOBS["prompt"], at=45))
    monkeypatch.setattr(due, "SHARED", 5)
    with pytest.raises(RuntimeError):
        await sweep_due(store, SETTINGS, SPLIT, at, batch=20)
    # Two batches of twenty committed; the third died with its transaction.
    assert len(await sent(store)) == 40
    assert len(await rows(store, scheduled.c.status == "queued")) == 40
    monkeypatch.setitem(JOBS, "prompt", JOBS["prompt"].real)

    await store.close()  # "restart": a new process, the same database
    restarted = Store(db_url)
    try:
        await sweep_due(restarted, SETTINGS, SPLIT, at, batch=20)
        await sweep_due(restarted, SETTINGS, SPLIT, at, batch=20)
        out = await sent(restarted)
        assert sorted(o.contact_id for o in out) == sorted(p.id for p in people)
        assert len({o.dedupe_key for o in out}) == 50
    finally:
        await restarted.close()


async def test_racing_bulk_sweeps_send_each_prompt_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await subscribers(store, 60)
    monkeypatch.setattr(due, "SHARED", 3)
    at = utc(2026, 6, 2, 8)
    await asyncio.gather(*(sweep_due(store, SETTINGS, SPLIT, at, batch=7) for _ in range(4)))
    out = await sent(store)
    assert sorted(o.contact_id for o in out) == sorted(p.id for p in people)
    assert len({o.dedupe_key for o in out}) == 60


# ---------------------------------------------------------------- fairness


async def test_a_write_waiting_for_the_sqlite_writer_goes_between_two_batches(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A webhook's write during a big sweep waits for one batch, not the whole sweep."""
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'fair.db'}")
    await upgrade(store)
    try:
        await subscribers(store, 60)
        in_batch = asyncio.Event()
        real_claim = queue.claim

        async def claim(conn: Any, ids: list[int]) -> Any:
            in_batch.set()
            return await real_claim(conn, ids)

        monkeypatch.setattr(queue, "claim", claim)
        sweeping = asyncio.create_task(sweep_due(store, SETTINGS, SPLIT, utc(2026, 6, 2, 8), 10))
        await asyncio.wait_for(in_batch.wait(), timeout=10)
        async with store.tx() as conn:  # queued behind the batch that holds the writer
            written = (await conn.execute(select(func.count()).select_from(outbox))).scalar_one()
        assert not sweeping.done()
        assert 0 < written < 60
        await asyncio.wait_for(sweeping, timeout=30)
        assert len(await sent(store)) == 60
    finally:
        await store.close()


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize("size", [0, 1, 5000])
async def test_among_is_in_with_one_parameter(store: Store, size: int) -> None:
    async with store.tx() as conn:
        for i in range(3):
            await contacts_repo.get_or_create(conn, "sim", f"among{i}")
    async with store.read() as conn:
        ids = list(range(1, size + 1))
        found = await conn.execute(
            select(func.count()).where(among(conn, scheduled.c.id, ids) | (scheduled.c.id < 0))
        )
        assert found.scalar_one() == 0
        found = await conn.execute(select(contacts.c.id).where(among(conn, contacts.c.id, ids)))
        assert sorted(found.scalars()) == list(range(1, min(size, 3) + 1))
