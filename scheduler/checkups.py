"""Check-up statements on a schedule: one ``barc`` row per person per local day, keyed
``barc:{contact}:{date}``, at their check-up time, sent by the due sweep like prompts
(same grace, quiet hours and DST rules).

SMS (and the simulator): each row asks one statement, the next unanswered one, and the
person replies with a number. So that a number never answers the wrong question, a
statement is not sent while the day's prompt waits for its answer: it follows that
answer instead. Telegram: each row sends every unanswered statement at once, each with
1-6 buttons.

While a check-up is open the rows come daily on SMS and weekly on Telegram; finishing
one moves the next check-up to a week later. Nobody gets statements in the middle of a
buddy chat (their reply would go to the buddy), and buddies get none (everything they
send is for texters).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound, Priority
from bot.store import conversations as convs
from bot.store.scheduler_tables import journal, scheduled
from content import texts
from scheduler import queue
from scheduler import recovery_capital as rc
from scheduler.due import Job, Person, register, unless_chosen_in_quiet_hours
from scheduler.localtime import at_local
from scheduler.prompts import GRACE, REPLY_WINDOW
from scheduler.queue import Due

KIND = "barc"
BUTTON = "CHECKUP"  # a button's data: "CHECKUP <check-up id> <statement> <answer>"
DEFAULT_TIME = time(9)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)  # from finishing one check-up to the next; between Telegram sends


def row_for(contact_id: int, day: date, at: time, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    due = at_local(day, at, zone)
    return queue.new_row(
        KIND,
        f"barc:{contact_id}:{day.isoformat()}",
        contact_id,
        due,
        due + GRACE,
        now,
        payload={"date": day.isoformat()},
    )


async def plan(
    conn: AsyncConnection,
    contact_id: int,
    at: time | None,
    zone: ZoneInfo,
    now: datetime,
    first_day: date | None = None,
) -> None:
    """Replace the pending row with one at ``at`` (None: stop) on ``first_day``, else
    today, or the day the pending row was for if that is further off than tomorrow (a
    new time keeps the week off); the day after if that time has gone or that day has
    had its row."""
    mine = (scheduled.c.contact_id == contact_id, scheduled.c.kind == KIND)
    pending = await conn.execute(
        select(scheduled.c.payload).where(*mine, scheduled.c.status == "pending")
    )
    today = now.astimezone(zone).date()
    resting = [d for (p,) in pending if (d := date.fromisoformat(p["date"])) > today + DAY]
    await queue.drop_pending(conn, *mine)
    if at is None:
        return
    day = first_day or max([*resting, today])
    row = row_for(contact_id, day, at, zone, now)
    if row["due_at"] <= now or await queue.taken(conn, row["key"]):
        row = row_for(contact_id, day + DAY, at, zone, now)
    await queue.add(conn, [row])


async def finish(
    conn: AsyncConnection,
    contact_id: int,
    checkup: rc.Checkup,
    at: time | None,
    zone: ZoneInfo,
    now: datetime,
) -> str:
    """Close a fully answered check-up and plan the next a week on; the score in words."""
    words = await rc.complete(conn, contact_id, checkup, now)
    next_week = now.astimezone(zone).date() + WEEK
    await plan(conn, contact_id, at, zone, now, first_day=next_week)
    return words


async def unanswered_prompt(
    conn: AsyncConnection, contact_id: int, now: datetime
) -> datetime | None:
    """When this person's latest prompt still waiting for an answer was sent (``now``
    if one is going out now), if there is one."""
    rows = await conn.execute(
        select(scheduled.c.status, scheduled.c.done_at).where(
            scheduled.c.contact_id == contact_id,
            scheduled.c.kind == "prompt",
            or_(
                and_(scheduled.c.status == "pending", scheduled.c.due_at <= now),
                and_(scheduled.c.status == "queued", scheduled.c.done_at >= now - REPLY_WINDOW),
            ),
            ~exists().where(journal.c.prompt_key == scheduled.c.key),
        )
    )
    times = [now if status == "pending" else done_at for status, done_at in rows]
    return max(times, default=None)


def _out(text: str, key: str | None, **meta: Any) -> Outbound:
    return Outbound(
        text,
        priority=Priority.REMINDER,
        kind="checkup",
        meta={"tag": "checkup", **meta},
        dedupe_key=key,
    )


def statement(item: int, key: str | None = None) -> Outbound:
    """One statement for SMS, answered by a reply."""
    return _out(texts.render("checkup.statement", number=item, statement=rc.statement(item)), key)


def answer_buttons(checkup_id: int, item: int, chosen: int | None = None) -> list[list[list[str]]]:
    """One row of 1-6 buttons; the chosen one ticked (pressing another changes it)."""
    return [
        [
            [f"{n} ✓" if n == chosen else str(n), f"{BUTTON} {checkup_id} {item} {n}"]
            for n in rc.ANSWERS
        ]
    ]


def all_at_once(checkup: rc.Checkup, key: str) -> list[Outbound]:
    """For Telegram: a word of introduction, then each unanswered statement with buttons."""
    return [
        _out(texts.render("checkup.intro"), key),
        *(
            _out(
                texts.render(
                    "checkup.statement_telegram", number=item, statement=rc.statement(item)
                ),
                f"{key}:{item}",
                buttons=answer_buttons(checkup.id, item),
            )
            for item in checkup.unanswered
        ),
    ]


async def ask_after_prompt(conn: AsyncConnection, contact_id: int, now: datetime) -> list[Outbound]:
    """The statement that waited for today's prompt to be answered, now it has been."""
    checkup = await rc.open_checkup(conn, contact_id)
    if checkup is None or checkup.asked_at is not None or checkup.asking is None:
        return []
    if checkup.asking not in checkup.unanswered:
        return []
    await rc.mark_asked(conn, checkup, checkup.asking, now)
    return [statement(checkup.asking)]


class CheckupJob(Job):
    kind = KIND

    def held_by_quiet_hours(self, row: Due, person: Person) -> bool:
        return unless_chosen_in_quiet_hours(person.prefs.checkup_time, person)

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[Outbound] | str:
        contact = person.contact
        if await convs.buddy_for_contact(conn, contact.id) is not None:
            return "buddy"
        if await convs.open_for_texter(conn, contact.id) is not None:
            return "in_conversation"
        checkup = await rc.open_or_start(conn, contact.id, now)
        if contact.channel == "telegram":
            return all_at_once(checkup, row.key)
        item = checkup.next_item()
        if await unanswered_prompt(conn, contact.id, now) is not None:
            await rc.mark_asked(conn, checkup, item, None)
            return "after_prompt"
        await rc.mark_asked(conn, checkup, item, now)
        return [statement(item, row.key)]

    async def follow(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[dict[str, Any]]:
        at = person.prefs.checkup_time
        if at is None:
            return []
        step = WEEK if person.contact.channel == "telegram" else DAY
        day = date.fromisoformat(row.payload["date"]) + step
        return [row_for(person.contact.id, day, at, person.zone, now)]


register(CheckupJob())
