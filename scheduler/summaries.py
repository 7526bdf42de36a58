"""The optional weekly summary, sent with Sunday's prompt: check-in averages this week
against last week in words (with the latest check-up score and its trend, for people
who have one), and on Telegram a small chart of the last eight weeks.

Each is a ``summary`` row planned with the prompts, worked out ``LEAD`` before the
prompt's time for a whole batch at once (one query for their check-ins, one for their
check-up scores) and queued to go at that time, so 100,000 people's 9am holds only the
prompts. The chart is only described here: the Telegram channel draws it as it sends
(``bot.charts``)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.charts import Weekly
from bot.messages import Outbound, Priority
from bot.store.scheduler_tables import journal
from bot.store.sql import among
from content import texts
from scheduler import queue, recovery_capital
from scheduler.due import Person
from scheduler.localtime import at_local

WEEKS = 8
LEAD = timedelta(hours=1)  # worked out this long before it is sent

Sundays = dict[int, tuple[Person, date]]  # contact id -> the person and the Sunday


@lru_cache(maxsize=64)
def _week_starts(zone: ZoneInfo, sunday: date) -> list[datetime]:
    """The UTC starts of the ``WEEKS`` local weeks to ``sunday`` (included), and the
    end of the last: exact across clock changes, and cheap to look a time up in (most
    people share a zone and a Sunday)."""
    first = sunday - timedelta(days=7 * WEEKS - 1)
    days = (first + timedelta(days=7 * n) for n in range(WEEKS + 1))
    return [at_local(day, datetime.min.time(), zone) for day in days]


async def weekly_scores(conn: AsyncConnection, sundays: Sundays) -> dict[int, Weekly]:
    """Each person's average check-in score per measure for each of the ``WEEKS``
    weeks to their Sunday: averaged by the database, one row per person and measure,
    one query per zone and Sunday (usually one for the whole batch)."""
    groups: dict[tuple[ZoneInfo, date], list[int]] = defaultdict(list)
    for contact_id, (person, sunday) in sundays.items():
        groups[person.zone, sunday].append(contact_id)
    scores: dict[int, Weekly] = defaultdict(dict)
    for (zone, sunday), ids in groups.items():
        starts = _week_starts(zone, sunday)
        at = journal.c.created_at
        averages = (
            func.avg(case((and_(at >= start, at < end), journal.c.score)))
            for start, end in pairwise(starts)
        )
        rows = await conn.execute(
            select(journal.c.contact_id, journal.c.measure, *averages)
            .where(
                among(conn, journal.c.contact_id, ids),
                journal.c.score.is_not(None),
                at >= starts[0],
                at < starts[-1],
            )
            .group_by(journal.c.contact_id, journal.c.measure)
        )
        for contact_id, measure, *weeks in rows:
            scores[contact_id][measure] = [None if w is None else float(w) for w in weeks]
    return scores


def trend_words(scores: Weekly) -> str | None:
    """``cravings lower than last week: 2.1 vs 3.4`` for each measure with both weeks."""
    parts = []
    for measure, weeks in sorted(scores.items()):
        this, last = weeks[-1], weeks[-2]
        if this is None:
            continue
        if last is None:
            parts.append(f"{measure} {this:.1f} this week")
            continue
        direction = (
            "about the same as"
            if abs(this - last) < 0.05
            else ("lower than" if this < last else "higher than")
        )
        parts.append(f"{measure} {direction} last week: {this:.1f} vs {last:.1f}")
    return "; ".join(parts) or None


async def weekly(conn: AsyncConnection, sundays: Sundays) -> dict[int, Outbound]:
    """Each person's summary for the week ending on their Sunday; nobody is in it who
    had no check-ins and has no check-up score."""
    if not sundays:
        return {}
    scores = await weekly_scores(conn, sundays)
    checkups = await recovery_capital.latest_results(conn, list(sundays))
    summaries: dict[int, Outbound] = {}
    for contact_id, (person, sunday) in sundays.items():
        mine = scores.get(contact_id, {})
        trend = trend_words(mine)
        words = [trend] if trend else []
        if contact_id in checkups:
            words.append(texts.render("checkup.in_summary", result=checkups[contact_id]))
        if not words:
            continue
        meta: dict[str, object] = {"tag": "summary"}
        if person.contact.channel == "telegram" and mine:
            meta["chart"] = {"filename": f"week-{sunday.isoformat()}.png", "weeks": mine}
        text = texts.render("summary.weekly", trend="; ".join(words))
        # Bulk: queued an hour early, it must not go before the prompt it follows.
        summaries[contact_id] = Outbound(text, priority=Priority.BULK, kind="summary", meta=meta)
    return summaries


def row_for(
    contact_id: int, sunday: date, send_at: datetime, grace: timedelta, now: datetime
) -> dict[str, Any]:
    """The scheduled row for one person's summary: due ``LEAD`` before ``send_at``,
    still made after downtime until ``grace`` after it (then sent at once)."""
    return queue.new_row(
        "summary",
        f"summary:{contact_id}:{sunday.isoformat()}",
        contact_id,
        send_at - LEAD,
        send_at + grace,
        now,
        payload={"date": sunday.isoformat(), "send_at": send_at.isoformat()},
    )
