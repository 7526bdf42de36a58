"""Queue hours, timers driven with an injected clock, and the concurrent-claim race."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.queues import QueueConfig
from bot.store import contacts as contacts_repo
from bot.store import conversations as convs
from bot.store import retention
from bot.store.buddy_tables import conversation_messages
from bot.store.engine import Store
from content import texts
from handlers import conversation as ops
from scheduler import queue_timers
from tests.buddy_world import COORD, buddy_world

T0 = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "open_"),
    [
        ("2026-11-20T20:59", False),
        ("2026-11-20T21:00", True),
        ("2026-11-21T03:00", True),  # across midnight
        ("2026-11-21T06:59", True),
        ("2026-11-21T07:00", False),
        # Spring forward, Sun 29 Mar 2026: 01:00 GMT becomes 02:00 BST.
        ("2026-03-28T21:00", True),  # 21:00 GMT
        ("2026-03-29T05:59", True),  # 06:59 BST
        ("2026-03-29T06:00", False),  # 07:00 BST
        ("2026-03-29T19:59", False),  # 20:59 BST
        ("2026-03-29T20:00", True),  # 21:00 BST
        # Fall back, Sun 25 Oct 2026: 02:00 BST becomes 01:00 GMT.
        ("2026-10-24T19:59", False),  # 20:59 BST
        ("2026-10-24T20:00", True),  # 21:00 BST
        ("2026-10-25T06:59", True),  # 06:59 GMT
        ("2026-10-25T07:00", False),  # 07:00 GMT
    ],
)
def test_default_hours_across_midnight_and_both_clock_changes(when: str, open_: bool) -> None:
    assert QueueConfig(name="default").is_open(utc(when)) is open_


def test_per_day_hours_and_closed_days() -> None:
    queue = QueueConfig(name="q", hours={"sat": "20:00-08:00", "sun": "closed"})
    assert queue.is_open(utc("2026-11-21T20:30"))  # Sat 20:30
    assert queue.is_open(utc("2026-11-22T07:30"))  # Sat's shift runs into Sunday
    assert not queue.is_open(utc("2026-11-22T22:00"))  # Sunday: closed
    assert not queue.is_open(utc("2026-11-23T06:00"))  # nothing runs into Monday from Sunday


async def make_buddy(
    store: Store, address: str, handle: str, *, on_duty: bool = True
) -> convs.Buddy:
    async with store.tx() as conn:
        contact = await contacts_repo.get_or_create(conn, "sim", address)
        buddy = await convs.enrol(conn, contact.id, handle, "default", 2, T0)
        assert buddy is not None
        await convs.set_buddy(conn, buddy.id, on_duty=on_duty)
        return buddy


async def make_waiting(store: Store, address: str, at: datetime = T0) -> convs.Conversation:
    async with store.tx() as conn:
        texter = await contacts_repo.get_or_create(conn, "sim", address)
        return await convs.create(conn, texter.id, "default", at)


async def test_concurrent_takes_never_double_assign(store: Store) -> None:
    sam = await make_buddy(store, "buddy-sam", "Sam")
    jo = await make_buddy(store, "buddy-jo", "Jo")
    for round_ in range(100):
        conv = await make_waiting(store, f"texter-{round_}")

        async def take(buddy: convs.Buddy, conv_id: int = conv.id) -> bool:
            async with store.tx() as conn:
                return await convs.claim(conn, conv_id, buddy.id, T0)

        results = await asyncio.gather(take(sam), take(jo))
        assert sorted(results) == [False, True], f"round {round_}: {results}"
        async with store.tx() as conn:
            await convs.update_conversation(conn, conv.id, status="closed")


async def test_take_button_lost_race_is_told_and_offered_the_next(store: Store) -> None:
    sam = await make_buddy(store, "buddy-sam", "Sam")
    jo = await make_buddy(store, "buddy-jo", "Jo")
    first = await make_waiting(store, "texter-a")
    second = await make_waiting(store, "texter-b", T0 + timedelta(seconds=1))
    async with store.tx() as conn:
        await ops.take_next(conn, sam, T0, wanted=first.id)
        out = await ops.take_next(conn, jo, T0, wanted=first.id)
    assert out[0].text == texts.render("buddy.taken")
    assert out[1].text == texts.render("texter.claimed", handle="Jo")
    async with store.read() as conn:
        taken = await convs.get(conn, second.id)
    assert taken is not None and taken.buddy_id == jo.id


def settings_with_coordinator() -> Settings:
    return Settings(roles={"coordinators": [f"sim:{COORD}"], "on_call": [f"sim:{COORD}"]})


async def texts_for(store: Store, outs: list, address: str) -> list[str]:  # type: ignore[type-arg]
    async with store.read() as conn:
        contact = await contacts_repo.find(conn, "sim", address)
    assert contact is not None
    return [o.text for o in outs if o.to == contact.id]


async def test_escalation_steps_once_each(store: Store) -> None:
    settings = settings_with_coordinator()
    await make_buddy(store, "buddy-sam", "Sam")
    conv = await make_waiting(store, "texter-anna")

    async def sweep(minutes: float) -> list:  # type: ignore[type-arg]
        async with store.tx() as conn:
            return await queue_timers.escalate(conn, settings, T0 + timedelta(minutes=minutes))

    assert await sweep(1) == []
    renotify = await sweep(3)
    assert await texts_for(store, renotify, "buddy-sam") == [
        texts.render("buddy.someone_waiting", label=conv.label, detail="first contact")
    ]
    assert await sweep(3.5) == []  # nothing twice
    reassure = await sweep(5)
    assert await texts_for(store, reassure, "texter-anna") == [
        texts.render("texter.still_waiting", position=1)
    ]
    page = await sweep(10)
    [coordinator_page] = await texts_for(store, page, COORD)
    assert coordinator_page == texts.render(
        "coordinator.page", label=conv.label, minutes=10, queue="default", on_duty="Sam"
    )
    honest = await sweep(20)
    assert await texts_for(store, honest, "texter-anna") == [texts.render("texter.honest")]
    assert await sweep(45) == []  # told honestly: no more reassurance spam


async def test_a_long_outage_sends_one_message_to_the_texter(store: Store) -> None:
    settings = settings_with_coordinator()
    await make_waiting(store, "texter-anna")
    async with store.tx() as conn:
        outs = await queue_timers.escalate(conn, settings, T0 + timedelta(hours=2))
    assert await texts_for(store, outs, "texter-anna") == [texts.render("texter.honest")]
    assert len(await texts_for(store, outs, COORD)) == 1


async def test_silence_checks_in_then_closes(store: Store) -> None:
    settings = Settings()
    sam = await make_buddy(store, "buddy-sam", "Sam")
    conv = await make_waiting(store, "texter-anna")
    async with store.tx() as conn:
        assert await convs.claim(conn, conv.id, sam.id, T0)
        await convs.add_message(conn, await ops.reload(conn, conv.id), "buddy", "Hi, I'm here.", T0)

    async def sweep(minutes: float) -> list:  # type: ignore[type-arg]
        async with store.tx() as conn:
            return await queue_timers.silence(conn, settings, T0 + timedelta(minutes=minutes))

    assert await sweep(29) == []
    check = await sweep(30)
    assert await texts_for(store, check, "texter-anna") == [texts.render("texter.check_in")]
    assert await sweep(40) == []
    closing = await sweep(45)
    assert await texts_for(store, closing, "texter-anna") == [texts.render("texter.closed_quiet")]
    async with store.read() as conn:
        closed = await convs.get(conn, conv.id)
    assert closed is not None and closed.status == "closed"


async def sam_jo_and_anna(store: Store) -> tuple[convs.Buddy, convs.Buddy, convs.Conversation]:
    """Two buddies on duty, and Anna taken by Sam at T0."""
    sam = await make_buddy(store, "buddy-sam", "Sam")
    jo = await make_buddy(store, "buddy-jo", "Jo")
    conv = await make_waiting(store, "texter-anna")
    async with store.tx() as conn:
        assert await convs.claim(conn, conv.id, sam.id, T0)
    return sam, jo, conv


async def silence_at(store: Store, when: datetime) -> list:  # type: ignore[type-arg]
    async with store.tx() as conn:
        return await queue_timers.silence(conn, Settings(), when)


async def test_a_texter_whose_buddy_never_answers_goes_back_to_the_queue(
    store: Store,
) -> None:
    _, jo, conv = await sam_jo_and_anna(store)

    async def sweep(seconds: float) -> list:  # type: ignore[type-arg]
        return await silence_at(store, T0 + timedelta(seconds=seconds))

    assert await sweep(179) == []
    handed_back = await sweep(180)
    assert await texts_for(store, handed_back, "texter-anna") == [texts.render("texter.passed")]
    assert await texts_for(store, handed_back, "buddy-sam") == [
        texts.render("buddy.unanswered", label=conv.label)
    ]
    assert await texts_for(store, handed_back, "buddy-jo") == [
        texts.render("buddy.someone_waiting", label=conv.label, detail="first contact")
    ]
    async with store.tx() as conn:
        waiting = await convs.get(conn, conv.id)
        assert waiting is not None and waiting.status == "waiting"
        assert waiting.queued_at == conv.queued_at  # still at the front
        assert await convs.claim(conn, conv.id, jo.id, T0 + timedelta(seconds=200))
        at = T0 + timedelta(seconds=210)
        await convs.add_message(conn, await ops.reload(conn, conv.id), "buddy", "Hi, Jo here.", at)
    assert await sweep(600) == []  # answered: Jo keeps the chat


async def test_a_passed_texter_is_handed_back_again_if_the_next_buddy_never_answers(
    store: Store,
) -> None:
    sam, jo, conv = await sam_jo_and_anna(store)
    later = T0 + timedelta(minutes=5)
    async with store.tx() as conn:
        await convs.add_message(conn, await ops.reload(conn, conv.id), "buddy", "Hi", T0)
        await ops.pass_back(conn, Settings(), sam, await ops.reload(conn, conv.id), "", T0)
        assert await convs.claim(conn, conv.id, jo.id, later)

    async def sweep(after: timedelta) -> list:  # type: ignore[type-arg]
        return await silence_at(store, later + after)

    assert await sweep(timedelta(seconds=179)) == []
    assert await texts_for(store, await sweep(timedelta(seconds=180)), "buddy-jo") == [
        texts.render("buddy.unanswered", label=conv.label)
    ]
    async with store.tx() as conn:
        assert await convs.claim(conn, conv.id, sam.id, later + timedelta(minutes=4))
        await convs.add_message(
            conn, await ops.reload(conn, conv.id), "buddy", "Back", later + timedelta(minutes=5)
        )
    assert await sweep(timedelta(minutes=20)) == []  # Sam answered this time


async def test_rostered_buddies_are_put_on_duty_at_shift_start(store: Store) -> None:
    settings = Settings()
    sam = await make_buddy(store, "buddy-sam", "Sam", on_duty=False)
    night = date(2026, 11, 20)
    async with store.tx() as conn:
        await convs.set_rota(conn, "default", night, [sam.id])
    await make_waiting(store, "texter-anna")

    async def sweep(at: str) -> list:  # type: ignore[type-arg]
        async with store.tx() as conn:
            return await queue_timers.shift_starts(conn, settings, utc(at))

    assert await sweep("2026-11-20T20:55") == []
    on = await sweep("2026-11-20T21:00")
    assert await texts_for(store, on, "buddy-sam") == [
        texts.render("buddy.on_tonight", queue="default", waiting=1)
    ]
    assert await sweep("2026-11-20T21:05") == []
    async with store.read() as conn:
        fresh = await convs.buddy_by_id(conn, sam.id)
    assert fresh is not None and fresh.on_duty


async def test_escalation_timers_survive_a_restart(tmp_path: Path) -> None:
    """A texter left waiting while the service was down is escalated when it comes back."""
    async with buddy_world(tmp_path) as world:
        anna = world.phone("texter-anna")
        assert await anna.say("hello?") == [texts.render("texter.queued")]
    # The service is stopped; eleven minutes pass.
    store = Store(world.service.settings.database.url)
    async with store.tx() as conn:
        [conv] = await convs.waiting(conn)
        await convs.update_conversation(
            conn, conv.id, queued_at=conv.queued_at - timedelta(minutes=11)
        )
    await store.close()
    async with buddy_world(tmp_path) as world:
        [page] = await world.coord.expect()
        assert page.startswith(f"{conv.label} has waited 11 min in default")


async def test_retention_purge_empties_old_text_and_keeps_the_times(store: Store) -> None:
    conv = await make_waiting(store, "texter-anna")
    async with store.tx() as conn:
        await convs.add_message(conn, conv, "texter", "old words", T0)
        await convs.add_message(conn, conv, "texter", "new words", T0 + timedelta(days=31))
        await convs.update_conversation(conn, conv.id, handover_note="a note", closed_at=T0)
        touched = await retention.purge_before(conn, T0 + timedelta(days=30))
    assert touched >= 2
    async with store.read() as conn:
        rows = (
            await conn.execute(select(conversation_messages).order_by(conversation_messages.c.id))
        ).all()
        kept = await convs.get(conn, conv.id)
    assert [(r.text, r.at) for r in rows] == [(None, T0), ("new words", T0 + timedelta(days=31))]
    assert kept is not None and kept.handover_note is None and kept.created_at == T0


async def test_broadcast_audiences_of_buddies_and_queues(store: Store) -> None:
    from scheduler.broadcasts import Audience, team_audience

    sam = await make_buddy(store, "buddy-sam", "Sam")
    conv = await make_waiting(store, "texter-anna")
    async with store.read() as conn:
        assert await team_audience(conn, Audience("buddies")) == [sam.contact_id]
        assert await team_audience(conn, Audience("buddies", "family")) == []
        assert await team_audience(conn, Audience("queue", "default")) == [conv.texter_id]
