"""The optional weekly summary, sent with Sunday's prompt: check-in averages this week
against last week in words (with the latest check-up score and its trend, for people
who have one), and on Telegram a small chart of the last eight weeks."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from statistics import mean

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound, Priority
from bot.store.scheduler_tables import journal
from content import texts
from scheduler import recovery_capital
from scheduler.due import Person
from scheduler.localtime import at_local

WEEKS = 8
# Which way is better, for the words: fewer cravings, more of the others.
LOWER_IS_BETTER = {"cravings"}

Weekly = dict[str, list[float | None]]  # measure -> average per week, oldest first


async def weekly_scores(conn: AsyncConnection, person: Person, sunday: date) -> Weekly:
    """Average check-in score per measure for each of the ``WEEKS`` weeks to ``sunday``."""
    start_day = sunday - timedelta(days=7 * WEEKS - 1)
    start = at_local(start_day, datetime.min.time(), person.zone)
    end = at_local(sunday + timedelta(days=1), datetime.min.time(), person.zone)
    rows = await conn.execute(
        select(journal.c.measure, journal.c.score, journal.c.created_at).where(
            journal.c.contact_id == person.contact.id,
            journal.c.score.is_not(None),
            journal.c.created_at >= start,
            journal.c.created_at < end,
        )
    )
    buckets: dict[str, list[list[int]]] = defaultdict(lambda: [[] for _ in range(WEEKS)])
    for measure, score, at in rows:
        week = (at.astimezone(person.zone).date() - start_day).days // 7
        buckets[measure][week].append(score)
    return {m: [mean(w) if w else None for w in weeks] for m, weeks in buckets.items()}


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


def chart_png(scores: Weekly) -> bytes:
    """A small line chart of weekly averages (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4, 2.5), dpi=100)
    ax = fig.add_subplot()
    weeks = list(range(-WEEKS + 1, 1))
    for measure, values in sorted(scores.items()):
        points = [(w, v) for w, v in zip(weeks, values, strict=True) if v is not None]
        ax.plot([w for w, _ in points], [v for _, v in points], marker="o", label=measure)
    ax.set_ylim(0, 5)
    ax.set_xlabel("weeks ago")
    ax.legend(fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


async def checkup_words(conn: AsyncConnection, person: Person) -> str | None:
    """The latest check-up score and its trend, for people who have finished one."""
    result = await recovery_capital.latest_result(conn, person.contact.id)
    return texts.render("checkup.in_summary", result=result) if result else None


async def weekly(conn: AsyncConnection, person: Person, sunday: date, key: str) -> list[Outbound]:
    """The summary for the week ending ``sunday``; nothing if there were no check-ins
    and there is no check-up score."""
    scores = await weekly_scores(conn, person, sunday)
    parts = [words for words in (trend_words(scores), await checkup_words(conn, person)) if words]
    if not parts:
        return []
    meta: dict[str, object] = {"tag": "summary"}
    if person.contact.channel == "telegram" and scores:
        meta["photo"] = {
            "filename": f"week-{sunday.isoformat()}.png",
            "content_b64": base64.b64encode(chart_png(scores)).decode(),
        }
    return [
        Outbound(
            texts.render("summary.weekly", trend="; ".join(parts)),
            priority=Priority.REMINDER,
            kind="summary",
            meta=meta,
            dedupe_key=key,
        )
    ]
