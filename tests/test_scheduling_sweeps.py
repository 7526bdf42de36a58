"""The due sweep with an injected clock: DST, grace after downtime, crashes mid-sweep,
quiet hours, and journal replies that offer a buddy. SQLite always, PostgreSQL too
when NIGHTOWL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.messages import Channel, InboundMessage, Outbound, Priority
from bot.store import contacts as contacts_repo
from bot.store import outbox as outbox_repo
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.scheduler_tables import buddy_offers, journal, scheduled
from bot.store.tables import outbox
from content import texts
from content.loader import ContentStore
from content.prompt_library import by_id
from handlers import offers
from handlers.prompts import journal_reply, weekly_command
from handlers.turn import Turn
from scheduler import appointments, broadcasts, prefs
from scheduler import prompts as prompt_schedule
from scheduler.broadcasts import Audience
from scheduler.due import JOBS, Job, Person, sweep_due
from scheduler.queue import Due

LONDON = ZoneInfo("Europe/London")
SETTINGS = Settings()
SPLIT: dict[str, Any] = {name: (lambda text: [text]) for name in ("sim", "sms", "telegram")}


async def person(store: Store, name: str, channel: str = "sim", **settings: Any) -> Contact:
    async with store.tx() as conn:
        contact = await contacts_repo.get_or_create(conn, channel, name)
        if settings:
            await prefs.set_values(conn, contact.id, datetime.now(UTC), **settings)
    return contact


async def sweep(store: Store, now: datetime, batch: int = 500) -> set[str]:
    """What the scheduler does at ``now``: plan prompts ahead, then send what is due."""
    await prompt_schedule.plan_ahead(store, SETTINGS, now)
    return await sweep_due(store, SETTINGS, SPLIT, now, batch)


async def sent(store: Store, *where: Any) -> list[Any]:
    async with store.read() as conn:
        rows = await conn.execute(select(outbox).where(*where).order_by(outbox.c.id))
        return list(rows)


async def rows(store: Store, *where: Any) -> list[Any]:
    async with store.read() as conn:
        found = await conn.execute(select(scheduled).where(*where).order_by(scheduled.c.due_at))
        return list(found)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- DST


@pytest.mark.parametrize("change", [date(2026, 3, 29), date(2026, 10, 25)])
@pytest.mark.parametrize("at", ["01:30", "09:00"])
async def test_exactly_one_prompt_per_local_day_across_the_clock_change(
    store: Store, change: date, at: str
) -> None:
    start = datetime.combine(change - timedelta(days=3), time(12), tzinfo=UTC)
    who = await person(store, f"dst-{at}", prompt_time=at)
    async with store.tx() as conn:
        await prompt_schedule.subscribe(conn, who.id, time.fromisoformat(at), LONDON, start)
    now, step = start, timedelta(minutes=10)
    while now < start + timedelta(days=7):
        await sweep(store, now)
        now += step

    done = await rows(store, scheduled.c.kind == "prompt", scheduled.c.status != "pending")
    days = [change + timedelta(days=d) for d in range(-2, 5)]  # the week around it
    assert [r.payload["date"] for r in done] == [d.isoformat() for d in days]
    assert all(r.status == "queued" for r in done)
    for r in done:
        local = r.due_at.astimezone(LONDON)
        expected = time.fromisoformat(at)
        if at == "01:30" and local.date() == date(2026, 3, 29):
            expected = time(2, 30)  # 01:30 does not exist that night: just after the gap
        assert (local.date().isoformat(), local.time()) == (r.payload["date"], expected)
        assert timedelta(0) <= r.done_at - r.due_at < step  # sent on the first sweep after
    if at == "01:30" and change.month == 10:  # 01:30 twice that night: the first one
        [fold] = [r for r in done if r.payload["date"] == "2026-10-25"]
        assert fold.due_at == utc(2026, 10, 25, 0, 30)
    out = await sent(store, outbox.c.kind == "prompt")
    assert len(out) == len(days)
    assert len({o.dedupe_key for o in out}) == len(days)


@pytest.mark.parametrize(
    ("starts_at", "day_before", "hour_before"),
    [
        # 10:30 BST on the first day of summer time: the day before is still GMT.
        (utc(2026, 3, 29, 9, 30), utc(2026, 3, 28, 10, 30), utc(2026, 3, 29, 8, 30)),
        # 10:30 GMT on the day the clocks go back: the day before was BST.
        (utc(2026, 10, 25, 10, 30), utc(2026, 10, 24, 9, 30), utc(2026, 10, 25, 9, 30)),
    ],
)
async def test_reminders_keep_wall_clock_time_across_a_clock_change(
    store: Store, starts_at: datetime, day_before: datetime, hour_before: datetime
) -> None:
    who = await person(store, "appt")
    created = starts_at - timedelta(days=4)
    async with store.tx() as conn:
        appt = await appointments.add(
            conn, who.id, starts_at, "GP at Park Surgery", created, offsets=(1440, 60), zone=LONDON
        )
    planned = await rows(store, scheduled.c.kind == "reminder")
    assert [(r.key, r.due_at) for r in planned] == [
        (f"appt:{appt.id}:24h", day_before),
        (f"appt:{appt.id}:1h", hour_before),
    ]
    await sweep(store, day_before - timedelta(seconds=1))
    assert await sent(store) == []
    await sweep(store, day_before)
    await sweep(store, hour_before)
    first, second = await sent(store)
    assert first.text == texts.render(
        "reminders.due", what="GP at Park Surgery", when="tomorrow at 10:30"
    )
    assert second.text == texts.render(
        "reminders.due", what="GP at Park Surgery", when="today at 10:30"
    )
    assert first.meta == {"tag": "reminder"} and first.priority == Priority.REMINDER


async def test_dropped_and_cancelled_appointments_send_nothing(store: Store) -> None:
    who = await person(store, "dropper")
    now = utc(2026, 5, 1, 12)
    async with store.tx() as conn:
        kept = await appointments.add(
            conn, who.id, now + timedelta(days=2), "kept", now, offsets=(60,), zone=LONDON
        )
        gone = await appointments.add(
            conn, who.id, now + timedelta(days=2), "gone", now, offsets=(60,), zone=LONDON
        )
        await appointments.drop(conn, gone, now)
    await sweep(store, now + timedelta(days=2, hours=-1))
    [only] = await sent(store)
    assert only.dedupe_key == f"appt:{kept.id}:1h"
    [cancelled] = await rows(store, scheduled.c.ref_id == gone.id)
    assert cancelled.status == "cancelled"


# --------------------------------------------------------------------- downtime


async def test_after_downtime_rows_within_grace_are_sent_and_older_ones_skipped(
    store: Store,
) -> None:
    who = await person(store, "late", quiet_start="00:00", quiet_end="00:00")
    now = utc(2026, 6, 1, 8)
    async with store.tx() as conn:
        soon = await appointments.add(
            conn, who.id, now + timedelta(hours=2), "A", now, offsets=(60,), zone=LONDON
        )
        later = await appointments.add(
            conn, who.id, now + timedelta(hours=3), "B", now, offsets=(60,), zone=LONDON
        )
    # Back up at 9:40 UTC: A's reminder (due 9:00) is 40 min late, past its 30 min grace;
    # B's (due 10:00) is not due yet. At 10:25 B's is 25 min late: still sent.
    await sweep(store, utc(2026, 6, 1, 9, 40))
    await sweep(store, utc(2026, 6, 1, 10, 25))
    [a] = await rows(store, scheduled.c.ref_id == soon.id)
    [b] = await rows(store, scheduled.c.ref_id == later.id)
    assert (a.status, a.reason) == ("skipped", "missed")
    assert b.status == "queued"
    assert [o.dedupe_key for o in await sent(store)] == [f"appt:{later.id}:1h"]


async def test_a_prompt_is_sent_up_to_three_hours_late_and_the_next_days_stay_planned(
    store: Store,
) -> None:
    on_time = await person(store, "p-late", prompt_time="09:00")
    too_late = await person(store, "p-later", prompt_time="09:00")
    subscribed = utc(2026, 6, 1, 12)  # BST: 09:00 local is 08:00 UTC
    async with store.tx() as conn:
        for who in (on_time, too_late):
            await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, subscribed)
    await sweep(store, utc(2026, 6, 2, 10, 59))  # 2h59 late
    [first] = await rows(
        store, scheduled.c.contact_id == on_time.id, scheduled.c.status == "queued"
    )
    assert first.payload["date"] == "2026-06-02"
    await sweep(store, utc(2026, 6, 3, 11, 1))
    statuses = [
        (r.payload["date"], r.status, r.reason)
        for r in await rows(
            store, scheduled.c.contact_id == on_time.id, scheduled.c.kind == "prompt"
        )
    ]
    assert statuses[:2] == [("2026-06-02", "queued", None), ("2026-06-03", "skipped", "missed")]
    # Planned when subscribing, to AHEAD days after that day (topped up when running low).
    planned = [date(2026, 6, 4) + timedelta(days=n) for n in range(prompt_schedule.AHEAD - 2)]
    assert statuses[2:] == [(day.isoformat(), "pending", None) for day in planned]


# ---------------------------------------------------------------- crash / restart


class Exploding(Job):
    """A reminder job that dies on its n-th row, like a process killed mid-sweep."""

    kind = "reminder"

    def __init__(self, real: Job, at: int) -> None:
        self.real, self.at, self.calls = real, at, 0

    async def render(self, conn: Any, row: Due, who: Person, now: datetime) -> Any:
        self.calls += 1
        if self.calls == self.at:
            raise RuntimeError("killed mid-sweep")
        return await self.real.render(conn, row, who, now)


async def test_a_crash_mid_sweep_then_a_restart_neither_loses_nor_doubles(
    store: Store, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utc(2026, 6, 1, 12)
    async with store.tx() as conn:
        for i in range(25):
            who = await contacts_repo.get_or_create(conn, "sim", f"crash{i}")
            await appointments.add(
                conn, who.id, now + timedelta(hours=2), f"appt {i}", now, offsets=(60,), zone=LONDON
            )
    due = now + timedelta(hours=1)
    monkeypatch.setitem(JOBS, "reminder", Exploding(JOBS["reminder"], at=13))
    with pytest.raises(RuntimeError):
        await sweep(store, due, batch=5)
    # Two batches of five committed; the third died with its transaction.
    assert len(await sent(store)) == 10
    assert len(await rows(store, scheduled.c.status == "pending")) == 15
    monkeypatch.undo()

    await store.close()  # "restart": a new process, the same database
    restarted = Store(db_url)
    try:
        await sweep(restarted, due, batch=5)
        await sweep(restarted, due, batch=5)  # and a repeated sweep changes nothing
        out = await sent(restarted)
        assert len(out) == 25
        assert len({o.dedupe_key for o in out}) == 25
        assert {r.status for r in await rows(restarted)} == {"queued"}
    finally:
        await restarted.close()


async def test_racing_sweeps_send_each_row_once(store: Store) -> None:
    now = utc(2026, 6, 1, 12)
    async with store.tx() as conn:
        for i in range(60):
            who = await contacts_repo.get_or_create(conn, "sim", f"race{i}")
            await appointments.add(
                conn, who.id, now + timedelta(hours=2), "x", now, offsets=(60,), zone=LONDON
            )
    due = now + timedelta(hours=1)
    await asyncio.gather(*(sweep(store, due, batch=7) for _ in range(4)))
    out = await sent(store)
    assert len(out) == 60 and len({o.dedupe_key for o in out}) == 60


# ------------------------------------------------------------------ quiet hours


async def broadcast(
    store: Store, sender: Contact, send_at: datetime, hours: int, urgent: bool = False
) -> int:
    async with store.tx() as conn:
        bid = await broadcasts.create(
            conn,
            sender,
            Audience("all"),
            "The Hub is closed on Monday.",
            send_at,
            send_at + timedelta(hours=hours),
            urgent,
            send_at,
        )
        assert await broadcasts.confirm(conn, bid, send_at)
        await broadcasts.expand_due(conn, send_at)
    return bid


async def test_quiet_hours_hold_a_notice_until_morning_unless_urgent_or_expired(
    store: Store,
) -> None:
    sender = await person(store, "coordinator")
    sleeper = await person(store, "sleeper", notices=True)  # default quiet 22:30-08:00
    owl = await person(store, "owl", notices=True, quiet_start="00:00", quiet_end="00:00")
    evening = utc(2026, 6, 10, 22)  # 23:00 BST
    held = await broadcast(store, sender, evening, hours=12)
    short = await broadcast(store, sender, evening, hours=6)  # ends 05:00 BST
    urgent = await broadcast(store, sender, evening, hours=6, urgent=True)

    await sweep(store, evening)
    assert sorted(o.dedupe_key for o in await sent(store)) == sorted(
        [
            f"bcast:{held}:{owl.id}",
            f"bcast:{short}:{owl.id}",
            f"bcast:{urgent}:{owl.id}",
            f"bcast:{urgent}:{sleeper.id}",
        ]
    )
    [waiting] = await rows(store, scheduled.c.key == f"bcast:{held}:{sleeper.id}")
    assert (waiting.status, waiting.due_at) == ("pending", utc(2026, 6, 11, 7))  # 08:00 BST
    [expired] = await rows(store, scheduled.c.key == f"bcast:{short}:{sleeper.id}")
    assert (expired.status, expired.reason) == ("skipped", "quiet_hours_expired")

    await sweep(store, utc(2026, 6, 11, 6, 59))
    assert len(await sent(store)) == 4
    await sweep(store, utc(2026, 6, 11, 7))
    [morning] = await sent(store, outbox.c.dedupe_key == f"bcast:{held}:{sleeper.id}")
    assert morning.priority == Priority.BULK
    assert morning.expires_at == evening + timedelta(hours=12)
    async with store.read() as conn:
        report = await broadcasts.report(conn, short)
    assert (report.pending, report.skipped) == (1, {"quiet_hours_expired": 1})


async def test_a_late_prompt_waits_out_quiet_hours_but_a_chosen_night_time_does_not(
    store: Store,
) -> None:
    night = await person(store, "night", prompt_time="01:30")
    morning = await person(store, "morning", prompt_time="22:00", quiet_start="22:30")
    subscribed = utc(2026, 6, 1, 12)
    async with store.tx() as conn:
        await prompt_schedule.subscribe(conn, night.id, time(1, 30), LONDON, subscribed)
        await prompt_schedule.subscribe(conn, morning.id, time(22), LONDON, subscribed)
    # The 22:00 BST prompt, with the service back at 23:00 BST (in quiet hours): holding
    # it to 08:00 would be past its 3-hour grace, so it is skipped.
    await sweep(store, utc(2026, 6, 1, 22))
    [row] = await rows(store, scheduled.c.contact_id == morning.id, scheduled.c.status != "pending")
    assert (row.status, row.reason) == ("skipped", "quiet_hours_expired")
    await sweep(store, utc(2026, 6, 2, 0, 30))  # 01:30 BST, inside quiet hours: chosen
    assert len(await sent(store, outbox.c.contact_id == night.id)) == 1


# ------------------------------------------------------- journal and buddy offers


@cache
def content() -> ContentStore:
    return ContentStore()


def turn(conn: Any, who: Contact, text: str, now: datetime) -> Turn:
    message = InboundMessage(channel=Channel.SIM, address=who.address, provider_id="p", text=text)
    return Turn(conn, who, message, SETTINGS, now, content())


async def prompted(store: Store, name: str, prompt_id: str) -> tuple[Contact, datetime]:
    """Someone who has just been sent prompt ``prompt_id``; and when."""
    who = await person(store, name, prompt_time="09:00")
    now = utc(2026, 6, 1, 12)
    async with store.tx() as conn:
        await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, now)
        await conn.execute(
            scheduled.update()
            .where(scheduled.c.contact_id == who.id)
            .values(payload={"date": "2026-06-02", "prompt": prompt_id})
        )
    sent_at = utc(2026, 6, 2, 8)
    await sweep(store, sent_at)
    return who, sent_at


async def test_a_crisis_phrase_in_a_journal_reply_offers_a_buddy_at_once(store: Store) -> None:
    who, sent_at = await prompted(store, "crisis", "con01")
    async with store.tx() as conn:
        outs = await journal_reply(turn(conn, who, "honestly I want to end it all", sent_at))
        assert outs is not None
        offer = await offers.pending_offer(conn, who.id, sent_at + timedelta(minutes=1))
    assert [o.text for o in outs] == [texts.render("offer.buddy"), texts.render("journal.saved")]
    assert "116 123" in outs[0].text and outs[0].priority == Priority.ALERT
    assert offer is not None
    assert (offer.reason, offer.urgent) == ("crisis:suicide", True)
    async with store.tx() as conn:
        await offers.take_offer(conn, offer.id, sent_at)
        assert await offers.pending_offer(conn, who.id, sent_at) is None
        # The entry is private and kept; a second message is not a journal reply.
        [entry] = (await conn.execute(select(journal))).all()
        assert (entry.text, entry.shared) == ("honestly I want to end it all", False)
        assert await journal_reply(turn(conn, who, "still here", sent_at)) is None


@pytest.mark.parametrize(
    ("prompt_id", "reply", "score", "offered"),
    [
        ("chk01", "5", 5, "checkin:cravings=5"),  # cravings: high is distress
        ("chk01", "about a 2 today", 2, None),
        ("chk02", "1", 1, "checkin:mood=1"),  # mood: low is distress
        ("chk02", "4/5 thanks", 4, None),
        ("con01", "my sister, 5 minutes away", None, None),  # a reflection has no score
    ],
)
async def test_check_in_replies_are_scored_and_distress_offers_a_buddy(
    store: Store, prompt_id: str, reply: str, score: int | None, offered: str | None
) -> None:
    who, sent_at = await prompted(store, "checkin", prompt_id)
    async with store.tx() as conn:
        outs = await journal_reply(turn(conn, who, reply, sent_at + timedelta(hours=11)))
        [entry] = (await conn.execute(select(journal))).all()
        offer_rows = (await conn.execute(select(buddy_offers))).all()
    assert outs is not None
    assert entry.score == score
    assert entry.measure == (by_id()[prompt_id].measure if score is not None else None)
    assert [o.reason for o in offer_rows] == ([offered] if offered else [])
    assert [o.urgent for o in offer_rows] == ([False] if offered else [])
    assert len(outs) == (2 if offered else 1)


async def test_a_reply_after_twelve_hours_is_not_a_journal_entry(store: Store) -> None:
    who, sent_at = await prompted(store, "slow", "con01")
    async with store.tx() as conn:
        late = sent_at + timedelta(hours=12, minutes=1)
        assert await journal_reply(turn(conn, who, "hello", late)) is None


async def test_the_summary_is_worked_out_an_hour_ahead_and_weekly_off_withdraws_it(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert date(2026, 6, 7).weekday() == prompt_schedule.SUNDAY  # the summary's day
    keeps, stops = [await person(store, n, prompt_time="09:00") for n in ("keeps", "stops")]
    async with store.tx() as conn:
        for who in (keeps, stops):
            await conn.execute(
                journal.insert().values(
                    contact_id=who.id, measure="mood", score=3, text="3", shared=False,
                    created_at=utc(2026, 6, 5, 12),
                )
            )  # fmt: skip
            await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, utc(2026, 6, 6, 12))
    monkeypatch.setattr(outbox_repo, "utcnow", lambda: utc(2026, 6, 7, 7))  # as the sweep's
    await sweep(store, utc(2026, 6, 7, 7))  # 08:00 BST: summaries ready, no prompt yet
    ready = await sent(store, outbox.c.kind == "summary")
    assert [o.contact_id for o in ready] == [keeps.id, stops.id]
    assert {o.next_attempt_at for o in ready} == {utc(2026, 6, 7, 8)}  # the prompt's time
    assert await sent(store, outbox.c.kind == "prompt") == []

    async with store.tx() as conn:  # 08:30 BST
        await weekly_command(turn(conn, stops, "WEEKLY OFF", utc(2026, 6, 7, 7, 30)), "OFF")
    await sweep(store, utc(2026, 6, 7, 8))
    summaries = {o.contact_id: o for o in await sent(store, outbox.c.kind == "summary")}
    assert summaries[keeps.id].status == "pending"
    assert (summaries[stops.id].status, summaries[stops.id].error) == ("skipped", "withdrawn")
    assert len(await sent(store, outbox.c.kind == "prompt")) == 2


def test_outbound_type_is_what_jobs_return() -> None:
    # A guard for the seam: sweeps hand jobs' messages to the outbox as they are.
    assert Outbound("x", dedupe_key="k").dedupe_key == "k"


# ------------------------------------------------------------------ weekly summary


async def test_sundays_prompt_brings_the_weekly_trend_and_telegram_gets_a_chart(
    store: Store,
) -> None:
    sunday = date(2026, 6, 7)
    for channel in ("sms", "telegram"):
        who = await person(store, f"{channel}-weekly", channel, prompt_time="09:00")
        async with store.tx() as conn:
            for days_ago, score in [(1, 2), (3, 2), (8, 4), (10, 3)]:  # this week 2.0, last 3.5
                at = datetime.combine(sunday - timedelta(days=days_ago), time(12), tzinfo=UTC)
                await conn.execute(
                    journal.insert().values(
                        contact_id=who.id, measure="cravings", score=score, text=str(score),
                        shared=False, created_at=at,
                    )
                )  # fmt: skip
            await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, utc(2026, 6, 6, 12))
    await sweep(store, utc(2026, 6, 7, 8))
    summaries = await sent(store, outbox.c.kind == "summary")
    assert [s.text for s in summaries] == [
        texts.render("summary.weekly", trend="cravings lower than last week: 2.0 vs 3.5")
    ] * 2
    by_channel = {s.channel: s.meta for s in summaries}
    assert "chart" not in by_channel["sms"]
    chart = by_channel["telegram"]["chart"]  # drawn by the Telegram channel as it sends
    assert chart["filename"] == "week-2026-06-07.png"
    assert chart["weeks"] == {"cravings": [None] * 6 + [3.5, 2.0]}
