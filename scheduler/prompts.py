"""Daily prompts: one row per person per local day, keyed ``prompt:{contact}:{date}``.

Rows are planned ahead, a week at a time: ``subscribe`` plans the coming days and the
planning sweep tops people up when fewer than ``LOW`` days are left, in bounded
batches, so the due sweep only has to send (100,000 people at 9am must not also wait
for 100,000 new rows). Each day's time is computed in the person's zone, so a prompt
keeps its wall-clock time across clock changes, and the key makes a second prompt on
the same local day impossible. A prompt missed while the service was down is still
sent within three hours. Someone who chose a time inside their quiet hours wants it
then; a late prompt that would land in quiet hours waits for the morning.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.config import Settings
from bot.messages import Outbound, Priority
from bot.store import contacts as contacts_repo
from bot.store import conversations as convs
from bot.store import outbox
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.scheduler_tables import schedule_prefs, scheduled
from bot.store.sql import among
from bot.store.tables import contacts
from content import texts
from content.prompt_library import SCALE, Prompt, by_id, pick
from scheduler import prefs, queue, summaries
from scheduler.due import (
    Job,
    Person,
    Verdict,
    register,
    unless_chosen_in_quiet_hours,
)
from scheduler.localtime import at_local, parse_hhmm, zone_of
from scheduler.queue import Due
from scheduler.runner import REGISTRY, SweepContext

GRACE = timedelta(hours=3)
REPLY_WINDOW = timedelta(hours=12)
SUNDAY = 6
AHEAD = 7  # days planned past today
LOW = 2  # plan again when fewer days than this are left
PLAN_BATCH = 300  # people per planning transaction (~AHEAD rows each)
IN_CONVERSATION_HOLD = timedelta(minutes=15)  # a prompt waits this long for a chat to end


def row_for(contact_id: int, day: date, at: time, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    due = at_local(day, at, zone)
    return queue.new_row(
        "prompt",
        f"prompt:{contact_id}:{day.isoformat()}",
        contact_id,
        due,
        due + GRACE,
        now,
        payload={"date": day.isoformat(), "prompt": pick(contact_id, day).id},
    )


@dataclass(frozen=True)
class Plan:
    """One person's prompts from local day ``first`` to ``last``, each with its prompt
    chosen now, leaving out those past their grace (after downtime, today's may still
    go late); a day that has had its prompt keeps it (the key is taken)."""

    contact_id: int
    at: time
    zone: ZoneInfo
    first: date
    last: date

    def rows(self, now: datetime) -> list[dict[str, Any]]:
        """The prompts, and for each Sunday the weekly summary (worked out an hour
        ahead, sent with the prompt; skipped then if the person turned it off)."""
        days = [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]
        rows = [row_for(self.contact_id, day, self.at, self.zone, now) for day in days]
        rows += [
            summaries.row_for(self.contact_id, day, at_local(day, self.at, self.zone), GRACE, now)
            for day in days
            if day.weekday() == SUNDAY
        ]
        return [row for row in rows if row["grace_until"] > now]


def horizon(zone: ZoneInfo, now: datetime) -> date:
    """The last local day planned for a person in ``zone`` planned at ``now``."""
    return now.astimezone(zone).date() + timedelta(days=AHEAD)


async def subscribe(
    conn: AsyncConnection, contact_id: int, at: time | None, zone: ZoneInfo, now: datetime
) -> None:
    """Replace the pending prompts with ones at ``at`` (None: stop) from today, or from
    tomorrow if today's time has gone or today has had its prompt."""
    await queue.drop_pending(
        conn, scheduled.c.contact_id == contact_id, scheduled.c.kind.in_(("prompt", "summary"))
    )
    if at is None:
        await prefs.set_values(conn, contact_id, now, planned_until=None)
        await outbox.withdraw(conn, contact_id, "summary")
        return
    plan = Plan(contact_id, at, zone, now.astimezone(zone).date(), horizon(zone, now))
    if at_local(plan.first, at, zone) <= now:
        plan = replace(plan, first=plan.first + timedelta(days=1))
    await queue.add(conn, plan.rows(now))
    await prefs.set_values(conn, contact_id, now, planned_until=plan.last)


async def running_low(
    conn: AsyncConnection, settings: Settings, now: datetime, limit: int
) -> list[Plan]:
    """Plans for up to ``limit`` subscribers with fewer than ``LOW`` days planned (in
    any zone: the bound is a UTC date), locked (PostgreSQL: others skip them)."""
    rows = await conn.execute(
        select(schedule_prefs.c.prompt_time, schedule_prefs.c.planned_until, *contacts_repo.COLUMNS)
        .join(contacts, contacts.c.id == schedule_prefs.c.contact_id)
        .where(
            schedule_prefs.c.prompt_time.is_not(None),
            schedule_prefs.c.planned_until < now.date() + timedelta(days=LOW),
        )
        .limit(limit)
        .with_for_update(skip_locked=True, of=schedule_prefs)
    )
    plans = []
    for prompt_time, planned_until, *contact_values in rows:
        contact = Contact(*contact_values)
        zone = zone_of(contact, settings)
        today = now.astimezone(zone).date()
        first = max(planned_until + timedelta(days=1), today)
        plans.append(Plan(contact.id, parse_hhmm(prompt_time), zone, first, horizon(zone, now)))
    return plans


async def plan_ahead(
    store: Store, settings: Settings, now: datetime, batch: int = PLAN_BATCH
) -> int:
    """Top up everyone running low, ``batch`` people per transaction; how many."""
    done = 0
    while True:
        async with store.tx() as conn:
            plans = await running_low(conn, settings, now, batch)
            if not plans:
                return done
            # Day by day, so that each day's rows are read in order when they fall due.
            rows = sorted(
                (row for plan in plans for row in plan.rows(now)),
                key=lambda row: (row["due_at"], row["contact_id"]),
            )
            await queue.add(conn, rows)
            await _planned(conn, plans, now)
        done += len(plans)


async def _planned(conn: AsyncConnection, plans: list[Plan], now: datetime) -> None:
    """Record how far each person is planned (one update per distinct last day)."""
    until: dict[date, list[int]] = defaultdict(list)
    for plan in plans:
        until[plan.last].append(plan.contact_id)
    for last, ids in until.items():
        await conn.execute(
            update(schedule_prefs)
            .where(among(conn, schedule_prefs.c.contact_id, ids))
            .values(planned_until=last, updated_at=now)
        )


@REGISTRY.add("plan_prompts", every_seconds=60)
async def sweep_plan(ctx: SweepContext) -> set[str]:
    await plan_ahead(ctx.store, ctx.settings, utcnow())
    return set()


async def last_sent(conn: AsyncConnection, contact_id: int, now: datetime) -> Due | None:
    """The prompt this person got within the reply window, if any."""
    row = (
        await conn.execute(
            select(*queue.DUE_COLUMNS)
            .where(
                scheduled.c.contact_id == contact_id,
                scheduled.c.kind == "prompt",
                scheduled.c.status == "queued",
                scheduled.c.done_at >= now - REPLY_WINDOW,
            )
            .order_by(scheduled.c.done_at.desc())
            .limit(1)
        )
    ).first()
    return Due(*row) if row else None


@cache
def _daily(prompt: Prompt) -> tuple[str, dict[str, Any]]:
    """A prompt's text and meta, made once: a sweep sends the same few to thousands
    (the meta is shared, not to be changed)."""
    meta: dict[str, Any] = {"tag": "prompt"}
    if prompt.measure:
        meta["buttons"] = [[[str(n), str(n)] for n in SCALE]]
    return texts.render("prompts.daily", prompt=prompt.text), meta


class AtThePromptTime(Job):
    """Quiet hours hold it, unless the person chose a prompt time inside them."""

    def held_by_quiet_hours(self, row: Due, person: Person) -> bool:
        return unless_chosen_in_quiet_hours(person.prefs.prompt_time, person)


class PromptJob(AtThePromptTime):
    kind = "prompt"

    async def render_many(
        self, conn: AsyncConnection, due: list[tuple[Due, Person]], now: datetime
    ) -> list[Verdict]:
        """Each row's prompt, but not in the middle of a buddy chat (a reply would go
        to the other party): held a while, skipped once past its grace."""
        busy = await convs.contacts_in_conversation(conn)
        later = now + IN_CONVERSATION_HOLD
        return [
            (later if later <= row.grace_until else "in_conversation")
            if person.contact.id in busy
            else await self.render(conn, row, person, now)
            for row, person in due
        ]

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> Verdict:
        day = date.fromisoformat(row.payload["date"])
        prompt = by_id().get(row.payload.get("prompt", ""))
        if prompt is None:  # the library changed since the row was made
            prompt = pick(person.contact.id, day)
        text, meta = _daily(prompt)
        return [
            Outbound(text, priority=Priority.REMINDER, kind="prompt", meta=meta, dedupe_key=row.key)
        ]


class SummaryJob(AtThePromptTime):
    """Sunday's weekly summary, worked out ``summaries.LEAD`` before the prompt for a
    whole batch at once and queued to go at the prompt's time: at 9am a sweep only has
    the prompts themselves to write."""

    kind = "summary"

    async def render_many(
        self, conn: AsyncConnection, due: list[tuple[Due, Person]], now: datetime
    ) -> list[Verdict]:
        wanted = {
            person.contact.id: (person, date.fromisoformat(row.payload["date"]))
            for row, person in due
            if person.prefs.weekly
        }
        ready = await summaries.weekly(conn, wanted)
        verdicts: list[Verdict] = []
        for row, person in due:
            out = ready.get(person.contact.id)
            if not person.prefs.weekly:
                verdicts.append("weekly_off")
            elif out is None:
                verdicts.append("nothing_to_say")
            else:
                send_at = datetime.fromisoformat(row.payload["send_at"])
                verdicts.append([replace(out, dedupe_key=row.key, not_before=send_at)])
        return verdicts


register(PromptJob())
register(SummaryJob())
