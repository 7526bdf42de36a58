"""Reminders, prompts and the journal end to end through the simulator: real inbox,
router, scheduler sweeps (run by APScheduler) and the sim dispatcher."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from bot.clock import utcnow
from bot.service import Service
from bot.store.scheduler_tables import scheduled
from content import texts
from scheduler import prompts as prompt_schedule
from tests.conftest import SimPhone, eventually


async def test_remind_is_understood_listed_and_dropped(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "remind1")
    await phone.send("REMIND tomorrow 10:30 keyworker at the Hub")
    [got] = await phone.wait_for(1)
    assert got.startswith("Got it: ")
    assert "10:30, keyworker at the Hub" in got
    assert "the day before and an hour before" in got
    await phone.send("remind me to call mum")
    got2 = await phone.wait_for(2)
    assert got2[1] == texts.render("reminders.unclear")
    await phone.send("APPTS")
    listing = await phone.wait_for(4)  # the list, and the calendar file
    assert "1. " in listing[2] and "keyworker at the Hub" in listing[2]
    assert "night-owl-appointments.ics" in listing[3]
    await phone.send("DROP 1")
    dropped = await phone.wait_for(5)
    assert dropped[4].startswith("Removed: ")
    await phone.send("APPTS")
    assert (await phone.wait_for(6))[5] == texts.render("appts.none")


async def test_prompt_arrives_when_due_and_the_reply_goes_in_the_journal(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, service = sim_service
    phone = SimPhone(client, "prompts1")
    # The prompt is brought forward to the real "now", which may be inside quiet hours.
    await phone.send("QUIET OFF")
    await phone.send("PROMPTS 9am")
    quiet, on = await phone.wait_for(2)
    assert quiet == texts.render("quiet.off")
    assert on == texts.render("prompts.on", time="09:00")

    async def pending_prompts() -> list[int]:
        async with service.store.read() as conn:
            rows = await conn.execute(
                select(scheduled.c.id)
                .where(scheduled.c.kind == "prompt", scheduled.c.status == "pending")
                .order_by(scheduled.c.due_at)
            )
            return list(rows.scalars())

    # A week of prompts is planned; bring the next forward to now and the running
    # scheduler's sweep sends it.
    planned = await pending_prompts()
    assert len(planned) >= prompt_schedule.AHEAD
    async with service.store.tx() as conn:
        await conn.execute(
            update(scheduled)
            .where(scheduled.c.id == planned[0])
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
    prompt = (await phone.wait_for(3, timeout=15))[2]
    assert prompt.endswith("Reply to keep your answer in your private journal.")
    assert await eventually(pending_prompts, lambda ids: ids == planned[1:])

    await phone.send("Feeling steady today, 2")
    assert (await phone.wait_for(4))[3] == texts.render("journal.saved")
    await phone.send("JOURNAL")
    journal = (await phone.wait_for(5))[4]
    assert journal.startswith("Your journal:\n1. ")
    assert "Feeling steady today, 2" in journal
    await phone.send("PROMPTS")
    assert (await phone.wait_for(6))[5] == texts.render("prompts.status_on", time="09:00")
    await phone.send("PROMPTS OFF")
    assert (await phone.wait_for(7))[6] == texts.render("prompts.off")
    assert await pending_prompts() == []
