"""Daily prompts: one row per person per local day, keyed ``prompt:{contact}:{date}``.

Sending (or skipping) today's row adds tomorrow's, computed in the person's zone, so a
prompt keeps its wall-clock time across clock changes and the key makes a second
prompt on the same local day impossible. A prompt missed while the service was down
is still sent within three hours. Someone who chose a time inside their quiet hours
wants it then; a late prompt that would land in quiet hours waits for the morning.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound, Priority
from bot.store.scheduler_tables import scheduled
from content import texts
from content.prompt_library import SCALE, by_id, pick
from scheduler import queue, summaries
from scheduler.due import Job, Person, register
from scheduler.localtime import at_local
from scheduler.queue import Due

GRACE = timedelta(hours=3)
REPLY_WINDOW = timedelta(hours=12)
SUNDAY = 6


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


async def subscribe(
    conn: AsyncConnection, contact_id: int, at: time | None, zone: ZoneInfo, now: datetime
) -> None:
    """Replace any pending prompt with the next one at ``at`` (None: stop). A day that
    has had its prompt already gets no second one: the next is tomorrow's."""
    await queue.drop_pending(
        conn, scheduled.c.contact_id == contact_id, scheduled.c.kind == "prompt"
    )
    if at is None:
        return
    today = now.astimezone(zone).date()
    row = row_for(contact_id, today, at, zone, now)
    taken = (
        await conn.execute(select(scheduled.c.id).where(scheduled.c.key == row["key"]))
    ).first()
    if taken is not None or row["due_at"] <= now:
        row = row_for(contact_id, today + timedelta(days=1), at, zone, now)
    await queue.add(conn, [row])


async def last_sent(conn: AsyncConnection, contact_id: int, now: datetime) -> Due | None:
    """The prompt this person got within the reply window, if any."""
    row = (
        await conn.execute(
            select(scheduled)
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
    if row is None:
        return None
    m = row._mapping
    return Due(
        m["id"], m["kind"], m["key"], m["contact_id"], m["due_at"], m["grace_until"],
        m["ref_id"], m["payload"] or {},
    )  # fmt: skip


def _scale_buttons() -> list[list[list[str]]]:
    return [[[str(n), str(n)] for n in SCALE]]


class PromptJob(Job):
    kind = "prompt"

    def held_by_quiet_hours(self, row: Due, person: Person) -> bool:
        chosen = person.prefs.prompt_time
        return chosen is None or not person.prefs.quiet.contains(chosen)

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[Outbound] | str:
        prompt = by_id().get(row.payload.get("prompt", ""))
        if prompt is None:  # the library changed since the row was made
            prompt = pick(person.contact.id, date.fromisoformat(row.payload["date"]))
        outs = [
            Outbound(
                texts.render("prompts.daily", prompt=prompt.text),
                priority=Priority.REMINDER,
                kind="prompt",
                meta={"tag": "prompt", **({"buttons": _scale_buttons()} if prompt.measure else {})},
                dedupe_key=row.key,
            )
        ]
        day = date.fromisoformat(row.payload["date"])
        if day.weekday() == SUNDAY and person.prefs.weekly:
            outs += await summaries.weekly(conn, person, day, f"summary:{person.contact.id}:{day}")
        return outs

    async def follow(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[dict[str, Any]]:
        at = person.prefs.prompt_time
        if at is None:
            return []
        day = date.fromisoformat(row.payload["date"]) + timedelta(days=1)
        return [row_for(person.contact.id, day, at, person.zone, now)]


register(PromptJob())
