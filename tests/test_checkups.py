"""Recovery-capital check-ups (BARC-10) with an injected clock: one statement a day at
the chosen time across clock changes, a whole check-up answered through the routing
rule (after the day's prompt), which question a bare number answers, the score and its
trend, the weekly summary, and who gets no statements. SQLite always, PostgreSQL too
when NIGHTOWL_TEST_POSTGRES_URL is set."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.messages import Channel, InboundMessage
from bot.store import conversations as convs
from bot.store.buddy_tables import conversations
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.scheduler_tables import checkup_answers, checkups, journal, scheduled
from bot.store.tables import outbox
from content import texts
from handlers import conversation as conversation_ops
from handlers.router import route
from handlers.turn import Turn
from scheduler import checkups as checkup_schedule
from scheduler import prompts as prompt_schedule
from scheduler import recovery_capital as rc
from tests.test_scheduling_sweeps import (
    LONDON,
    SETTINGS,
    content,
    person,
    rows,
    sent,
    sweep,
    utc,
)


def statement(item: int) -> str:
    return texts.render("checkup.statement", number=item, statement=texts.render(f"barc.s{item}"))


async def say(store: Store, who: Contact, text: str, now: datetime, **message: Any) -> list[str]:
    """What the routing rule answers ``text`` from ``who`` at ``now`` (committed)."""
    inbound = InboundMessage(
        channel=Channel(who.channel), address=who.address, provider_id="p", text=text, **message
    )
    async with store.tx() as conn:
        outs = await route(Turn(conn, who, inbound, SETTINGS, now, content()))
    return [o.text for o in outs if o.kind != "button_ack"]


async def start_checkups(store: Store, who: Contact, at: str, now: datetime) -> None:
    async with store.tx() as conn:
        await checkup_schedule.plan(conn, who.id, time.fromisoformat(at), LONDON, now)


async def open_checkup(store: Store, who: Contact) -> rc.Checkup | None:
    async with store.read() as conn:
        return await rc.open_checkup(conn, who.id)


# --------------------------------------------------------------------- DST


@pytest.mark.parametrize("change", [date(2026, 3, 29), date(2026, 10, 25)])
@pytest.mark.parametrize("at", ["01:30", "09:00"])
async def test_one_statement_per_local_day_at_the_chosen_time_across_the_clock_change(
    store: Store, change: date, at: str
) -> None:
    start = datetime.combine(change - timedelta(days=3), time(12), tzinfo=LONDON)
    who = await person(store, f"barc-{at}", checkup_time=at)
    await start_checkups(store, who, at, start)
    now, step = start, timedelta(minutes=10)
    while now < start + timedelta(days=7):
        await sweep(store, now)
        now += step

    done = await rows(store, scheduled.c.kind == "barc", scheduled.c.status != "pending")
    days = [change + timedelta(days=d) for d in range(-2, 5)]
    assert [r.payload["date"] for r in done] == [d.isoformat() for d in days]
    assert {r.status for r in done} == {"queued"}
    for r in done:
        local = r.due_at.astimezone(LONDON)
        expected = time.fromisoformat(at)
        if at == "01:30" and local.date() == date(2026, 3, 29):
            expected = time(2, 30)  # 01:30 does not exist that night: just after the gap
        assert (local.date().isoformat(), local.time()) == (r.payload["date"], expected)
        assert timedelta(0) <= r.done_at - r.due_at < step
    out = await sent(store, outbox.c.kind == "checkup")
    # Nobody answered, so each day brings the next statement.
    assert [o.text for o in out] == [statement(n) for n in range(1, 8)]
    assert [o.dedupe_key for o in out] == [f"barc:{who.id}:{d.isoformat()}" for d in days]


async def test_a_late_statement_waits_out_quiet_hours_but_a_chosen_night_time_does_not(
    store: Store,
) -> None:
    night = await person(store, "barc-night", checkup_time="01:30")
    evening = await person(store, "barc-evening", checkup_time="22:00", quiet_start="22:30")
    subscribed = utc(2026, 6, 1, 12)
    await start_checkups(store, night, "01:30", subscribed)
    await start_checkups(store, evening, "22:00", subscribed)
    await sweep(store, utc(2026, 6, 1, 22))  # 23:00 BST: 08:00 would be past the grace
    [row] = await rows(store, scheduled.c.contact_id == evening.id, scheduled.c.status != "pending")
    assert (row.status, row.reason) == ("skipped", "quiet_hours_expired")
    await sweep(store, utc(2026, 6, 2, 0, 30))  # 01:30 BST, inside quiet hours: chosen
    assert [o.text for o in await sent(store, outbox.c.contact_id == night.id)] == [statement(1)]


# ---------------------------------------------------- a whole check-up by SMS


async def test_a_check_up_follows_each_prompt_answer_and_ends_with_the_score_and_trend(
    store: Store,
) -> None:
    """Prompts and check-ups both at 09:00: each day's statement waits for the prompt's
    answer, then a bare number answers it; the tenth gives the score, the next
    check-up comes a week later and from the second one on the trend is in words."""
    who = await person(store, "barc-sms", "sms", prompt_time="09:00", checkup_time="09:00")
    subscribed = utc(2026, 6, 1, 12)  # BST: 09:00 is 08:00 UTC
    async with store.tx() as conn:
        await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, subscribed)
    assert await say(store, who, "CHECKUP ON", subscribed) == [
        texts.render("checkup.on_after_prompt")
    ]

    async def one_check_up(first_day: date, answers: list[int]) -> list[str]:
        last: list[str] = []
        for n, value in enumerate(answers, 1):
            day = first_day + timedelta(days=n - 1)
            at = datetime.combine(day, time(8), tzinfo=UTC)
            await sweep(store, at)
            [skipped] = await rows(store, scheduled.c.key == f"barc:{who.id}:{day}")
            assert (skipped.status, skipped.reason) == ("skipped", "after_prompt")
            assert await sent(store, outbox.c.dedupe_key == skipped.key) == []
            got = await say(
                store, who, "A quiet day, went to a meeting", at + timedelta(minutes=20)
            )
            assert got == [texts.render("journal.saved"), statement(n)]
            last = await say(store, who, f" {value}.", at + timedelta(minutes=30))
            if n < len(answers):
                assert last == [texts.render("checkup.saved", answered=n)]
        return last

    first = await one_check_up(date(2026, 6, 2), [3, 4, 2, 3, 4, 5, 3, 2, 4, 4])
    assert first == [texts.render("checkup.done", result="34 out of 60")]
    async with store.read() as conn:
        [done] = (await conn.execute(select(checkups))).all()
        assert (done.score, done.completed_at is not None) == (34, True)
        assert len((await conn.execute(select(checkup_answers))).all()) == 10
        # The journal holds the prompt answers only: the numbers are the check-up's.
        assert {e.text for e in (await conn.execute(select(journal))).all()} == {
            "A quiet day, went to a meeting"
        }
    [next_row] = await rows(store, scheduled.c.kind == "barc", scheduled.c.status == "pending")
    assert next_row.payload["date"] == "2026-06-18"  # finished on the 11th: a week on
    assert next_row.due_at == utc(2026, 6, 18, 8)
    assert await say(store, who, "checkup", utc(2026, 6, 12)) == [
        texts.render("checkup.status_score", time="09:00", result="34 out of 60")
    ]

    second = await one_check_up(date(2026, 6, 18), [4, 5, 3, 4, 4, 5, 4, 3, 5, 4])
    trend = "up from 34 to 41 (out of 60)"
    assert second == [texts.render("checkup.done", result=trend)]
    assert await say(store, who, "CHECKUP", utc(2026, 6, 28)) == [
        texts.render("checkup.status_score", time="09:00", result=trend)
    ]


async def test_a_number_answers_the_latest_question(store: Store) -> None:
    """A statement at 08:00, a cravings check-in at 09:00: "3" is the check-in's; once
    that is answered, "4" is the statement's. Out of range, we ask again."""
    who = await person(store, "barc-order", prompt_time="09:00", checkup_time="08:00")
    subscribed = utc(2026, 6, 1, 12)
    await start_checkups(store, who, "08:00", subscribed)
    async with store.tx() as conn:
        await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, subscribed)
        await conn.execute(
            scheduled.update()
            .where(scheduled.c.kind == "prompt")
            .values(payload={"date": "2026-06-02", "prompt": "chk01"})
        )
    await sweep(store, utc(2026, 6, 2, 7))  # 08:00 BST: the statement
    assert [o.text for o in await sent(store)] == [statement(1)]
    assert await say(store, who, "7", utc(2026, 6, 2, 7, 30)) == [
        texts.render("checkup.bad_answer")
    ]
    await sweep(store, utc(2026, 6, 2, 8))  # 09:00 BST: the cravings check-in
    assert await say(store, who, "3", utc(2026, 6, 2, 8, 5)) == [texts.render("journal.saved")]
    assert await say(store, who, "4", utc(2026, 6, 2, 8, 6)) == [
        texts.render("checkup.saved", answered=1)
    ]
    async with store.read() as conn:
        [entry] = (await conn.execute(select(journal))).all()
    assert (entry.measure, entry.score) == ("cravings", 3)
    checkup = await open_checkup(store, who)
    assert checkup is not None and checkup.answers == {1: 4}


@pytest.mark.parametrize(("looked_up", "answered"), [("before", True), ("after", False)])
async def test_a_lookup_list_asked_after_the_statement_takes_the_number(
    store: Store, looked_up: str, answered: bool
) -> None:
    who = await person(store, f"barc-lookup-{looked_up}", checkup_time="09:00")
    await start_checkups(store, who, "09:00", utc(2026, 6, 1, 12))
    statement_at = utc(2026, 6, 2, 8)
    lookup_at = statement_at + timedelta(minutes=-5 if looked_up == "before" else 5)
    if looked_up == "before":
        await say(store, who, "meetings crawley", lookup_at)
    await sweep(store, statement_at)
    if looked_up == "after":
        await say(store, who, "meetings crawley", lookup_at)
    await say(store, who, "2", statement_at + timedelta(minutes=10))
    checkup = await open_checkup(store, who)
    assert checkup is not None and checkup.answers == ({1: 2} if answered else {})


async def test_a_statement_unanswered_for_twelve_hours_takes_no_number(store: Store) -> None:
    who = await person(store, "barc-late", checkup_time="09:00")
    await start_checkups(store, who, "09:00", utc(2026, 6, 1, 12))
    await sweep(store, utc(2026, 6, 2, 8))
    await say(store, who, "5", utc(2026, 6, 2, 20, 1))
    checkup = await open_checkup(store, who)
    assert checkup is not None and checkup.answers == {}


# ------------------------------------------------------ settings and cadence


async def test_checkup_on_off_and_a_new_time(store: Store) -> None:
    who = await person(store, "barc-settings")
    now = utc(2026, 6, 1, 12)  # 13:00 BST
    assert await say(store, who, "CHECKUP", now) == [texts.render("checkup.status_off")]
    assert await say(store, who, "checkup on", now) == [texts.render("checkup.on", time="09:00")]
    [first] = await rows(store, scheduled.c.kind == "barc")
    assert first.payload["date"] == "2026-06-02"  # 09:00 has gone today
    assert await say(store, who, "CHECKUP at teatime", now) == [texts.render("checkup.usage")]
    assert await say(store, who, "CHECKUP 7pm", now) == [texts.render("checkup.on", time="19:00")]
    [moved] = await rows(store, scheduled.c.kind == "barc")
    assert (moved.payload["date"], moved.due_at) == ("2026-06-01", utc(2026, 6, 1, 18))
    await sweep(store, utc(2026, 6, 1, 18))
    assert await say(store, who, "6", utc(2026, 6, 1, 18, 5)) == [
        texts.render("checkup.saved", answered=1)
    ]
    assert await say(store, who, "CHECKUP", now) == [
        texts.render("checkup.status_waiting", time="19:00", answered=1)
    ]
    assert await say(store, who, "CHECKUP OFF", now) == [texts.render("checkup.off")]
    assert await rows(store, scheduled.c.kind == "barc", scheduled.c.status == "pending") == []
    assert await open_checkup(store, who) is None  # the unfinished one is dropped
    assert await say(store, who, "CHECKUP", now) == [texts.render("checkup.status_off")]


async def test_a_new_time_during_the_week_off_keeps_the_week_off(store: Store) -> None:
    who = await person(store, "barc-rest", checkup_time="09:00")
    now = utc(2026, 6, 1, 12)
    async with store.tx() as conn:
        await checkup_schedule.plan(conn, who.id, time(9), LONDON, now, first_day=date(2026, 6, 8))
    await say(store, who, "CHECKUP 8pm", now)
    [row] = await rows(store, scheduled.c.kind == "barc")
    assert (row.payload["date"], row.due_at) == ("2026-06-08", utc(2026, 6, 8, 19))


async def test_no_statements_in_a_buddy_chat_or_for_a_buddy(store: Store) -> None:
    chatting = await person(store, "barc-chatting", checkup_time="09:00")
    now = utc(2026, 6, 1, 12)
    await start_checkups(store, chatting, "09:00", now)
    async with store.tx() as conn:
        await conversation_ops.start(conn, SETTINGS, chatting, "default", "hello", now)
    await sweep(store, utc(2026, 6, 2, 8))
    [row] = await rows(store, scheduled.c.kind == "barc", scheduled.c.status != "pending")
    assert (row.status, row.reason) == ("skipped", "in_conversation")
    assert await sent(store, outbox.c.kind == "checkup") == []
    [tomorrow] = await rows(store, scheduled.c.kind == "barc", scheduled.c.status == "pending")
    assert tomorrow.payload["date"] == "2026-06-03"


async def test_a_prompt_waits_for_a_buddy_chat_to_end_on_either_side(store: Store) -> None:
    texter = await person(store, "prompt-texter", prompt_time="09:00")
    buddy = await person(store, "prompt-buddy", prompt_time="09:00")
    async with store.tx() as conn:
        for who in (texter, buddy):
            await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, utc(2026, 6, 1, 12))
        sam = await convs.enrol(conn, buddy.id, "Sam", "default", 2, utc(2026, 6, 1, 12))
        assert sam is not None
        await conversation_ops.start(conn, SETTINGS, texter, "default", "hi", utc(2026, 6, 2, 7))
        await conversation_ops.take_next(conn, sam, utc(2026, 6, 2, 7, 1))
        [chat] = await convs.active_for_buddy(conn, sam.id)
    await sweep(store, utc(2026, 6, 2, 8))  # 09:00 BST, mid-chat: a reply would be relayed
    assert await sent(store, outbox.c.kind == "prompt") == []
    today = scheduled.c.key.endswith("2026-06-02")
    held = await rows(store, scheduled.c.kind == "prompt", today)
    assert {(r.status, r.due_at) for r in held} == {("pending", utc(2026, 6, 2, 8, 15))}

    async with store.tx() as conn:
        await conversation_ops.close(conn, chat, utc(2026, 6, 2, 8, 10), "done")
    await sweep(store, utc(2026, 6, 2, 8, 15))
    prompts = await sent(store, outbox.c.kind == "prompt")
    assert sorted(o.contact_id for o in prompts) == sorted([texter.id, buddy.id])

    async with store.tx() as conn:  # a chat that outlasts the prompt's grace: skipped
        await conversation_ops.start(conn, SETTINGS, texter, "default", "hi", utc(2026, 6, 3, 7))
    await sweep(store, utc(2026, 6, 3, 10, 50))
    mine = scheduled.c.contact_id == texter.id
    [late] = await rows(store, mine, scheduled.c.key.endswith("2026-06-03"))
    assert (late.status, late.reason) == ("skipped", "in_conversation")


async def test_a_number_after_a_chat_answers_a_check_in_sent_since_not_the_feedback(
    store: Store,
) -> None:
    texter = await person(store, "feedback-or-check-in", prompt_time="09:00")
    buddy = await person(store, "feedback-buddy")
    async with store.tx() as conn:
        sam = await convs.enrol(conn, buddy.id, "Sam", "default", 2, utc(2026, 6, 1, 12))
        assert sam is not None
        await conversation_ops.start(conn, SETTINGS, texter, "default", "hi", utc(2026, 6, 2, 1))
        await conversation_ops.take_next(conn, sam, utc(2026, 6, 2, 1, 1))
        [chat] = await convs.active_for_buddy(conn, sam.id)
        await conversation_ops.close(conn, chat, utc(2026, 6, 2, 2), "buddy")  # asks 1 to 5
        await prompt_schedule.subscribe(conn, texter.id, time(9), LONDON, utc(2026, 6, 2, 2))
        await conn.execute(
            update(scheduled)
            .where(scheduled.c.key == f"prompt:{texter.id}:2026-06-02")
            .values(payload={"date": "2026-06-02", "prompt": "chk01"})  # cravings, 0 to 5
        )
    await sweep(store, utc(2026, 6, 2, 8))  # 09:00 BST: the check-in goes
    assert await say(store, texter, "2", utc(2026, 6, 2, 8, 30)) != [
        texts.render("texter.feedback_thanks")
    ]
    async with store.read() as conn:
        [entry] = (await conn.execute(select(journal))).all()
        [closed] = (await conn.execute(select(conversations))).all()
    assert (entry.score, entry.measure) == (2, "cravings")
    assert (closed.feedback, closed.feedback_pending) == (None, False)


# ------------------------------------------------------------ weekly summary


async def finished(store: Store, who: Contact, *scores: int) -> None:
    """Check-ups finished a week apart with these scores (oldest first)."""
    async with store.tx() as conn:
        for week, score in enumerate(scores):
            at = utc(2026, 5, 1 + 7 * week, 9)
            await conn.execute(
                checkups.insert().values(
                    contact_id=who.id, started_at=at, completed_at=at, score=score
                )
            )


async def test_the_weekly_summary_carries_the_latest_score_and_its_trend(store: Store) -> None:
    with_checkins = await person(store, "summary-both", prompt_time="09:00")
    score_only = await person(store, "summary-barc", "telegram", prompt_time="09:00")
    await finished(store, with_checkins, 41, 34)
    await finished(store, score_only, 30)
    assert date(2026, 6, 7).weekday() == prompt_schedule.SUNDAY  # the summary's day
    async with store.tx() as conn:
        await conn.execute(
            journal.insert().values(
                contact_id=with_checkins.id, measure="mood", score=4, text="4", shared=False,
                created_at=utc(2026, 6, 5, 12),
            )
        )  # fmt: skip
        for who in (with_checkins, score_only):
            await prompt_schedule.subscribe(conn, who.id, time(9), LONDON, utc(2026, 6, 6, 12))
    await sweep(store, utc(2026, 6, 7, 8))
    summaries = {o.contact_id: o for o in await sent(store, outbox.c.kind == "summary")}
    assert summaries[with_checkins.id].text == texts.render(
        "summary.weekly",
        trend="mood 4.0 this week; check-up score down from 41 to 34 (out of 60)",
    )
    alone = summaries[score_only.id]
    assert alone.text == texts.render("summary.weekly", trend="check-up score 30 out of 60")
    assert "chart" not in alone.meta  # no check-ins: no chart
