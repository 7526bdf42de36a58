"""PROMPTS, QUIET and WEEKLY settings; the journal (replies to prompts, JOURNAL, SHARE).

A reply to a prompt within 12 hours becomes a private journal entry (the first reply
to each prompt: later messages are ordinary messages again). A check-in reply keeps
its number as a score. Either kind of reply offers a peer buddy at once if it scores
at the struggling end of the scale or contains a crisis phrase.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound
from bot.store import outbox
from bot.store.scheduler_tables import journal
from content import texts
from content.prompt_library import Prompt, by_id
from handlers.listing import fit_lines
from handlers.offers import make_offer
from handlers.triage import triage
from handlers.turn import Turn
from handlers.when import parse_clock
from scheduler import checkups, prefs
from scheduler import prompts as prompt_schedule
from scheduler.localtime import hhmm, zone_of

JOURNAL_SHOWN = 7
_SCORE = re.compile(r"(?<![\d.])([0-5])(?![\d.])")


async def prompts_command(turn: Turn, args: str) -> list[Outbound]:
    """``PROMPTS 9am`` subscribes (or moves the time), ``PROMPTS OFF`` stops,
    ``PROMPTS`` alone says what is set."""
    current = (await prefs.get(turn.conn, turn.contact.id)).prompt_time
    if not args:
        if current is None:
            return [Outbound(texts.render("prompts.status_off"))]
        return [Outbound(texts.render("prompts.status_on", time=hhmm(current)))]
    off = args.upper() in ("OFF", "STOP", "NO")
    at = None if off else parse_clock(args)
    if not off and at is None:
        return [Outbound(texts.render("prompts.bad_time"))]
    await prefs.set_values(
        turn.conn, turn.contact.id, turn.now, prompt_time=hhmm(at) if at else None
    )
    zone = zone_of(turn.contact, turn.settings)
    await prompt_schedule.subscribe(turn.conn, turn.contact.id, at, zone, turn.now)
    if at is None:
        return [Outbound(texts.render("prompts.off"))]
    return [Outbound(texts.render("prompts.on", time=hhmm(at)))]


async def quiet_command(turn: Turn, args: str) -> list[Outbound]:
    """``QUIET 23:00 07:00``, ``QUIET OFF``, or ``QUIET`` to see them."""
    words = args.replace("-", " ").split()
    if args.upper() == "OFF":
        await prefs.set_values(
            turn.conn, turn.contact.id, turn.now, quiet_start="00:00", quiet_end="00:00"
        )
        return [Outbound(texts.render("quiet.off"))]
    bounds = [parse_clock(w) for w in words]
    if len(bounds) == 2 and None not in bounds and bounds[0] != bounds[1]:
        start, end = (hhmm(b) for b in bounds if b is not None)
        await prefs.set_values(
            turn.conn, turn.contact.id, turn.now, quiet_start=start, quiet_end=end
        )
        return [Outbound(texts.render("quiet.set", start=start, end=end))]
    quiet = (await prefs.get(turn.conn, turn.contact.id)).quiet
    if quiet.start == quiet.end:
        return [Outbound(texts.render("quiet.off"))]
    return [Outbound(texts.render("quiet.status", start=hhmm(quiet.start), end=hhmm(quiet.end)))]


async def weekly_command(turn: Turn, args: str) -> list[Outbound] | None:
    choice = {"ON": True, "OFF": False}.get(args.upper())
    if choice is None:
        return None
    await prefs.set_values(turn.conn, turn.contact.id, turn.now, weekly=choice)
    if not choice:
        await outbox.withdraw(turn.conn, turn.contact.id, "summary")
    return [Outbound(texts.render("summary.on" if choice else "summary.off"))]


def score_of(text: str) -> int | None:
    """The 0-5 number in a check-in reply (``3``, ``about a 4``, ``2/5``), if any."""
    m = _SCORE.search(text)
    return int(m[1]) if m else None


async def journal_reply(turn: Turn) -> list[Outbound] | None:
    """Keep a reply to today's prompt in the journal; offer a buddy if it is needed."""
    text = turn.message.text.strip()
    if turn.message.kind not in ("text", "button") or not text:
        return None
    sent = await prompt_schedule.last_sent(turn.conn, turn.contact.id, turn.now)
    if sent is None or await _answered(turn.conn, sent.key):
        return None
    prompt = by_id().get(sent.payload.get("prompt", ""))
    score = score_of(text) if prompt and prompt.measure else None
    await turn.conn.execute(
        insert(journal).values(
            contact_id=turn.contact.id,
            prompt_key=sent.key,
            prompt_id=prompt.id if prompt else None,
            measure=prompt.measure if prompt and score is not None else None,
            score=score,
            text=text,
            shared=False,
            created_at=turn.now,
        )
    )
    outs = [Outbound(texts.render("journal.saved"))]
    reason = _offer_reason(text, prompt, score)
    if reason is None:  # a check-up statement that waited for this answer follows it
        return outs + await checkups.ask_after_prompt(turn.conn, turn.contact.id, turn.now)
    urgent = reason.startswith("crisis:")
    outs.insert(0, await make_offer(turn.conn, turn.contact.id, reason, urgent, turn.now))
    # Buddy-queue seam: inside night hours the buddy-queue code queues an urgent
    # person at once (here, with the offer id from pending_offer) instead of waiting
    # for a YES.
    return outs


def _offer_reason(text: str, prompt: Prompt | None, score: int | None) -> str | None:
    flag = triage(text)
    if flag is not None:
        return f"crisis:{flag.category}"
    if prompt is not None and score is not None and prompt.is_distress(score):
        return f"checkin:{prompt.measure}={score}"
    return None


async def _answered(conn: AsyncConnection, prompt_key: str) -> bool:
    found = await conn.execute(select(journal.c.id).where(journal.c.prompt_key == prompt_key))
    return found.first() is not None


async def _recent(turn: Turn) -> list[Any]:
    rows = await turn.conn.execute(
        select(journal)
        .where(journal.c.contact_id == turn.contact.id)
        .order_by(journal.c.created_at.desc(), journal.c.id.desc())
        .limit(JOURNAL_SHOWN)
    )
    return list(rows)


async def journal_command(turn: Turn, args: str) -> list[Outbound] | None:
    """``JOURNAL``: the last seven entries, newest first, numbered for SHARE."""
    if args:
        return None
    entries = await _recent(turn)
    if not entries:
        return [Outbound(texts.render("journal.none"))]
    zone = zone_of(turn.contact, turn.settings)
    lines = [
        f"{n}. {e.created_at.astimezone(zone):%a %-d %b}: {e.text}"
        + (f" ({e.measure} {e.score})" if e.score is not None else "")
        for n, e in enumerate(entries, 1)
    ]
    return [
        Outbound(
            fit_lines(
                turn.contact.channel, lines, lambda body: texts.render("journal.list", lines=body)
            )
        )
    ]


async def share_command(turn: Turn, args: str) -> list[Outbound] | None:
    """``SHARE 2`` lets buddies see entry 2 of the JOURNAL list (``SHARE``: the latest)."""
    if args and not args.isdigit():
        return None
    number = int(args or 1)
    entries = await _recent(turn)
    if not 1 <= number <= len(entries):
        return [Outbound(texts.render("journal.no_such", number=number))]
    await turn.conn.execute(
        update(journal).where(journal.c.id == entries[number - 1].id).values(shared=True)
    )
    return [Outbound(texts.render("journal.shared", number=number))]


async def shared_entries(conn: AsyncConnection, contact_id: int) -> list[tuple[str, str]]:
    """(local-free ISO time, text) of the entries a person chose to share with buddies."""
    rows = await conn.execute(
        select(journal.c.created_at, journal.c.text)
        .where(journal.c.contact_id == contact_id, journal.c.shared.is_(True))
        .order_by(journal.c.created_at)
    )
    return [(at.isoformat(), text) for at, text in rows]
