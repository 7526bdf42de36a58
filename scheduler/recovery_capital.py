"""Recovery-capital check-ups: the ten BARC-10 statements (Vilsaint et al. 2017), each
answered 1 (strongly disagree) to 6 (strongly agree) and summed to a 10-60 score.

A person has at most one open check-up; the tenth answer closes it with its score.
Answers are private like the journal: never shown to buddies, never logged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.scheduler_tables import checkup_answers, checkups
from bot.store.sql import among
from content import texts

ITEMS = tuple(range(1, 11))
ANSWERS = tuple(range(1, 7))


@dataclass(frozen=True)
class Checkup:
    id: int
    asking: int | None  # SMS: the statement asked last
    asked_at: datetime | None  # None: it waits for the day's prompt to be answered
    answers: dict[int, int]  # statement -> answer

    @property
    def unanswered(self) -> list[int]:
        return [item for item in ITEMS if item not in self.answers]

    def next_item(self) -> int:
        """The statement to ask next: one still waiting to be asked, else the next
        unanswered one after the last asked (coming round again to any skipped), so one
        ignored statement does not hold up the rest."""
        if self.asking in self.unanswered and self.asked_at is None:
            return self.asking
        after = self.asking or 0
        return min(self.unanswered, key=lambda item: (item <= after, item))

    def awaiting(self, since: datetime) -> int | None:
        """The statement asked at or after ``since`` and not answered yet, if any."""
        asked_at = self.asked_at
        if self.asking in self.unanswered and asked_at is not None and asked_at >= since:
            return self.asking
        return None


def statement(item: int) -> str:
    return texts.render(f"barc.s{item}")


async def open_checkup(conn: AsyncConnection, contact_id: int) -> Checkup | None:
    row = (
        await conn.execute(
            select(checkups.c.id, checkups.c.asking, checkups.c.asked_at)
            .where(checkups.c.contact_id == contact_id, checkups.c.completed_at.is_(None))
            .order_by(checkups.c.id.desc())
        )
    ).first()
    if row is None:
        return None
    answers = await conn.execute(
        select(checkup_answers.c.item, checkup_answers.c.answer).where(
            checkup_answers.c.checkup_id == row.id
        )
    )
    return Checkup(row.id, row.asking, row.asked_at, {item: answer for item, answer in answers})


async def open_or_start(conn: AsyncConnection, contact_id: int, now: datetime) -> Checkup:
    found = await open_checkup(conn, contact_id)
    if found is not None:
        return found
    result = await conn.execute(
        insert(checkups).values(contact_id=contact_id, started_at=now).returning(checkups.c.id)
    )
    return Checkup(int(result.scalar_one()), None, None, {})


async def mark_asked(
    conn: AsyncConnection, checkup: Checkup, item: int | None, at: datetime | None
) -> None:
    """Remember the statement asked (``at`` None: it waits for the prompt's answer)."""
    await conn.execute(
        update(checkups).where(checkups.c.id == checkup.id).values(asking=item, asked_at=at)
    )


async def record(
    conn: AsyncConnection, checkup: Checkup, item: int, answer: int, now: datetime
) -> Checkup:
    """Keep (or, before the check-up is finished, change) the answer to one statement."""
    values = {"answer": answer, "answered_at": now}
    changed = await conn.execute(
        update(checkup_answers)
        .where(checkup_answers.c.checkup_id == checkup.id, checkup_answers.c.item == item)
        .values(**values)
    )
    if not changed.rowcount:
        await conn.execute(
            insert(checkup_answers).values(checkup_id=checkup.id, item=item, **values)
        )
    return Checkup(checkup.id, checkup.asking, checkup.asked_at, {**checkup.answers, item: answer})


async def complete(conn: AsyncConnection, contact_id: int, checkup: Checkup, now: datetime) -> str:
    """Close a fully answered check-up; its score and trend in words."""
    await conn.execute(
        update(checkups)
        .where(checkups.c.id == checkup.id)
        .values(completed_at=now, score=sum(checkup.answers.values()), asking=None)
    )
    words = await latest_result(conn, contact_id)
    assert words is not None  # this one has just finished
    return words


async def discard_open(conn: AsyncConnection, contact_id: int) -> None:
    """Drop an unfinished check-up (its answers go with it)."""
    await conn.execute(
        delete(checkups).where(
            checkups.c.contact_id == contact_id, checkups.c.completed_at.is_(None)
        )
    )


async def latest_scores(
    conn: AsyncConnection, contact_ids: Sequence[int], count: int = 2
) -> dict[int, list[int]]:
    """Each person's scores of their last ``count`` finished check-ups, newest first
    (people with none are left out), in one query for many people."""
    rank = (
        func.row_number()
        .over(
            partition_by=checkups.c.contact_id,
            order_by=(checkups.c.completed_at.desc(), checkups.c.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(checkups.c.contact_id, checkups.c.score, rank)
        .where(
            among(conn, checkups.c.contact_id, contact_ids),
            checkups.c.completed_at.is_not(None),
        )
        .subquery()
    )
    rows = await conn.execute(
        select(ranked.c.contact_id, ranked.c.score)
        .where(ranked.c.rank <= count)
        .order_by(ranked.c.contact_id, ranked.c.rank)
    )
    scores: dict[int, list[int]] = defaultdict(list)
    for contact_id, score in rows:
        scores[contact_id].append(int(score))
    return scores


def result_words(score: int, before: int | None) -> str:
    """``41 out of 60``; from the second check-up on, the trend: ``up from 34 to 41``."""
    if before is None:
        key = "first"
    else:
        key = "up" if score > before else "down" if score < before else "same"
    return texts.render(f"checkup.result_{key}", score=score, before=before)


async def latest_results(conn: AsyncConnection, contact_ids: Sequence[int]) -> dict[int, str]:
    """Each person's last score and its trend in words, for those who have finished a
    check-up."""
    scores = await latest_scores(conn, contact_ids)
    return {
        contact_id: result_words(last[0], last[1] if len(last) > 1 else None)
        for contact_id, last in scores.items()
    }


async def latest_result(conn: AsyncConnection, contact_id: int) -> str | None:
    """The last score and its trend in words, if the person has finished a check-up."""
    return (await latest_results(conn, [contact_id])).get(contact_id)
