"""CHECKUP: the optional weekly recovery-capital check-up (BARC-10), and its answers.

``CHECKUP ON`` starts it (at the daily-prompt time, else 9am), ``CHECKUP 7pm`` picks
the time, ``CHECKUP OFF`` stops it, ``CHECKUP`` alone shows the setting and last score.

On SMS a reply of just a number answers the statement asked last (within 12 hours) if
that is the latest question we asked: a prompt sent since, a lookup list or "how much
did this help?" take their own replies. Anything else, a crisis phrase above all, goes
on through the routing rule as usual. On Telegram every statement has 1-6 buttons; a
press keeps (or changes) that answer and ticks the button.
"""

from __future__ import annotations

import re
from datetime import time

from bot.messages import Outbound
from bot.store import conversations as convs
from content import texts
from handlers.commands import is_sentence
from handlers.turn import Turn
from handlers.when import parse_clock
from scheduler import checkups, prefs
from scheduler import recovery_capital as rc
from scheduler.localtime import hhmm, zone_of
from scheduler.prompts import REPLY_WINDOW

_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[./!]?\s*$")
_PRESS = re.compile(r"^(\d+) (\d+) (\d+)$")


async def checkup_command(turn: Turn, args: str) -> list[Outbound] | None:
    """``CHECKUP``, ``CHECKUP ON``, ``CHECKUP 7pm``, ``CHECKUP OFF``; and the buttons."""
    if turn.message.kind == "button":
        return await _press(turn, args)
    word = args.upper()
    if not word:
        return await _status(turn)
    if word in ("OFF", "NO", "STOP"):
        return await _switch(turn, None)
    if word in ("ON", "YES"):
        current = await prefs.get(turn.conn, turn.contact.id)
        return await _switch(turn, current.prompt_time or checkups.DEFAULT_TIME)
    at = parse_clock(args[3:] if word.startswith("ON ") else args)
    if at is None:
        return None if is_sentence(args) else [Outbound(texts.render("checkup.usage"))]
    return await _switch(turn, at)


async def _switch(turn: Turn, at: time | None) -> list[Outbound]:
    """Check-ups on at ``at`` (an open check-up carries on), or off (None: an
    unfinished check-up is dropped)."""
    conn, contact = turn.conn, turn.contact
    await prefs.set_values(conn, contact.id, turn.now, checkup_time=hhmm(at) if at else None)
    await checkups.plan(conn, contact.id, at, zone_of(contact, turn.settings), turn.now)
    if at is None:
        await rc.discard_open(conn, contact.id)
        return [Outbound(texts.render("checkup.off"))]
    if contact.channel == "telegram":
        return [Outbound(texts.render("checkup.on_telegram", time=hhmm(at)))]
    if at == (await prefs.get(conn, contact.id)).prompt_time:
        return [Outbound(texts.render("checkup.on_after_prompt"))]
    return [Outbound(texts.render("checkup.on", time=hhmm(at)))]


async def _status(turn: Turn) -> list[Outbound]:
    at = (await prefs.get(turn.conn, turn.contact.id)).checkup_time
    if at is None:
        return [Outbound(texts.render("checkup.status_off"))]
    result = await rc.latest_result(turn.conn, turn.contact.id)
    if result is not None:
        return [Outbound(texts.render("checkup.status_score", time=hhmm(at), result=result))]
    checkup = await rc.open_checkup(turn.conn, turn.contact.id)
    answered = len(checkup.answers) if checkup else 0
    return [Outbound(texts.render("checkup.status_waiting", time=hhmm(at), answered=answered))]


async def answer(turn: Turn, in_chat: bool) -> list[Outbound] | None:
    """A check-up answer, else None: a button press (wherever the person is, so it
    never reaches a buddy), or outside a buddy chat a number replying to the latest
    statement."""
    message = turn.message
    if message.kind == "button":
        word, _, args = message.text.partition(" ")
        return await _press(turn, args) if word == checkups.BUTTON else None
    number = _NUMBER.match(message.text)
    if in_chat or number is None:
        return None
    checkup = await rc.open_checkup(turn.conn, turn.contact.id)
    item = checkup.awaiting(turn.now - REPLY_WINDOW) if checkup else None
    if checkup is None or item is None or not await _latest_question(turn, checkup):
        return None
    value = int(number[1])
    if value not in rc.ANSWERS:
        return [Outbound(texts.render("checkup.bad_answer"))]
    checkup = await rc.record(turn.conn, checkup, item, value, turn.now)
    saved = Outbound(texts.render("checkup.saved", answered=len(checkup.answers)))
    return await _finished(turn, checkup) or [saved]


async def _latest_question(turn: Turn, checkup: rc.Checkup) -> bool:
    """Whether the statement was asked after every other question still open: a
    prompt, a lookup list (MORE or a number) and the feedback question."""
    conn, contact_id = turn.conn, turn.contact.id
    asked = await convs.asked(conn, contact_id)
    feedback = await convs.feedback_pending(conn, contact_id)
    others = (
        await checkups.unanswered_prompt(conn, contact_id, turn.now),
        asked[2] if asked else None,
        feedback.last_activity_at if feedback else None,
    )
    assert checkup.asked_at is not None
    return all(other is None or other <= checkup.asked_at for other in others)


async def _press(turn: Turn, args: str) -> list[Outbound]:
    """A Telegram button: keep the answer, tick it, and finish after the tenth."""
    pressed = _PRESS.match(args)
    if pressed is None:
        return []
    checkup_id, item, value = (int(n) for n in pressed.groups())
    checkup = await rc.open_checkup(turn.conn, turn.contact.id)
    if checkup is None or checkup.id != checkup_id:
        return [Outbound(texts.render("checkup.closed"))]
    if item not in rc.ITEMS or value not in rc.ANSWERS or checkup.answers.get(item) == value:
        return []
    checkup = await rc.record(turn.conn, checkup, item, value, turn.now)
    message_id = turn.message.payload.get("message_id")
    tick = Outbound(
        "(answer)",
        kind="button_edit",
        meta={
            "edit_message": message_id,
            "buttons": checkups.answer_buttons(checkup_id, item, value),
        },
    )
    return ([tick] if message_id else []) + await _finished(turn, checkup)


async def _finished(turn: Turn, checkup: rc.Checkup) -> list[Outbound]:
    """After the tenth answer: the score and its trend; the next check-up in a week."""
    if checkup.unanswered:
        return []
    at = (await prefs.get(turn.conn, turn.contact.id)).checkup_time
    zone = zone_of(turn.contact, turn.settings)
    words = await checkups.finish(turn.conn, turn.contact.id, checkup, at, zone, turn.now)
    return [Outbound(texts.render("checkup.done", result=words))]
