"""The texter's side of the routing rule (everything after compliance words).

Check-up answers come first (a Telegram button wherever the person is, a bare number
outside a buddy chat: neither can hold a crisis phrase); they are private and never
reach a buddy. Inside a conversation: everything else relays to the buddy, except
DONE. Outside one: answers to questions we asked, then journal replies, then commands
and lookups, then a new buddy conversation (or the out-of-hours reply). Triage runs
first: a person asking for help always wins over a command.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.messages import Outbound
from bot.queues import QueueConfig
from bot.store import contacts as contacts_repo
from bot.store import conversations as convs
from content import texts
from handlers import checkups, lookups, offers, scheduling
from handlers import conversation as conversation_ops
from handlers.triage import triage
from handlers.turn import Turn
from scheduler import erase
from scheduler import prompts as prompt_schedule

# Slash commands that belong to buddies and coordinators.
VOLUNTEER_COMMANDS = frozenset(
    {
        "/ON",
        "/OFF",
        "/NEXT",
        "/TAKE",
        "/PASS",
        "/NOTE",
        "/CRISIS",
        "/FLAG",
        "/LIST",
        "/INVITE",
        "/REMOVE",
        "/ROTA",
        "/STATS",
        "/BUDDIES",
        "/BLOCK",
        "/UNBLOCK",
        "/CLOSE",
        "/BROADCAST",
        "/BROADCASTS",
        "/APPT",
        "/FALLBACK",
    }
)
FORGET_WINDOW = timedelta(minutes=15)
_SCORE = re.compile(r"^\s*([1-5])\s*[./!]?\s*$")


def choose_queue(turn: Turn) -> QueueConfig:
    """The queue this texter belongs to: the way they came in, or the default."""
    settings = turn.settings
    if turn.contact.queue:
        return settings.queue(turn.contact.queue)
    number = turn.message.payload.get("to")
    first_word = turn.words.split(" ", 1)[0] if turn.words else ""
    for queue in settings.queues:
        if number and number in queue.sms_numbers:
            return queue
        if first_word and first_word in (k.upper() for k in queue.keywords):
            return queue
    return settings.queue("default")


async def remember_entry(turn: Turn) -> None:
    """A Telegram deep link (/start family) routes this person to a queue from now on."""
    words = turn.message.text.split()
    if turn.message.channel != "telegram" or len(words) != 2 or words[0].lower() != "/start":
        return
    for queue in turn.settings.queues:
        if words[1] in queue.telegram_start:
            await turn.set_flags(queue=queue.name)


def next_opening(queue: QueueConfig, now: datetime) -> str:
    """When buddies are next on, in plain words ("9pm tonight", "Mon 9pm")."""
    local = now.astimezone(queue.zone)
    for offset in range(8):
        shift = queue.shift_starting(local.date() + timedelta(days=offset))
        if shift and shift[1] > now:
            opens = shift[0]
            hour = opens.strftime("%I:%M%p").lstrip("0").replace(":00", "").lower()
            if offset == 0:
                return f"{hour} tonight"
            return f"{hour} tomorrow" if offset == 1 else f"{opens.strftime('%a')} {hour}"
    return "our next opening"


async def handle(turn: Turn) -> list[Outbound]:
    conn, contact, now = turn.conn, turn.contact, turn.now
    text = turn.message.text.strip()
    word = turn.words
    conv = await convs.open_for_texter(conn, contact.id)
    checkup = await checkups.answer(turn, in_chat=conv is not None)
    if checkup is not None:
        return checkup
    flag = triage(text) if text else None

    if conv is not None:
        if word == "DONE":
            return await conversation_ops.close(conn, conv, now, "texter")
        out = []
        if flag and not conv.urgent:
            out += await conversation_ops.mark_urgent(conn, turn.settings, conv, flag.category, now)
            conv = await convs.get(conn, conv.id) or conv
        if conv.status == "active":
            return out + await conversation_ops.relay_to_buddy(conn, conv, text, now)
        await convs.add_message(conn, conv, "texter", text, now)  # the buddy sees it on claiming
        return out

    answered = await _answer_to_question(turn)
    if answered is not None:
        return answered
    journal = await scheduling.handle_journal_reply(turn)
    if journal is not None:  # a reply to today's prompt: saved, and a buddy offered if needed
        return journal + await _queue_urgent_offer(turn, text)
    if flag is not None:
        return await _start(turn, text, triage_category=flag.category)
    if word == "YES":
        offer = await offers.pending_offer(conn, contact.id, now)
        if offer is not None:
            await offers.take_offer(conn, offer.id, now)
            category = offer.reason.partition(":")[2].partition("=")[0] if offer.urgent else None
            return await _start(turn, text, triage_category=category)
    if word.split(" ", 1)[0] in VOLUNTEER_COMMANDS:
        return [Outbound(texts.render("texter.for_volunteers"))]
    if word == "FORGET":
        await convs.ask(conn, contact.id, "forget", now)
        return [Outbound(texts.render("texter.forget_ask"))]
    if word == "SAME":
        return await _same_buddy(turn)
    if word in ("/START", "START"):
        return [Outbound(texts.render("texter.welcome"))]
    for step in (lookups.handle, scheduling.handle_command):
        answer = await step(turn)
        if answer is not None:
            return answer
    if turn.message.kind in ("unsupported", "location") or not text:
        return [Outbound(texts.render("general.not_text"))]
    return await _start(turn, text)


async def _answer_to_question(turn: Turn) -> list[Outbound] | None:
    """A reply to something we asked: FORGET's confirmation, or the 1-5 feedback."""
    conn, contact, now = turn.conn, turn.contact, turn.now
    pending = await convs.asked(conn, contact.id)
    if pending and pending[0] == "forget":
        await convs.answered(conn, contact.id)
        if turn.words == "YES" and now - pending[2] <= FORGET_WINDOW:
            return await _forget(turn)
        return [Outbound(texts.render("texter.forget_kept"))]
    waiting_feedback = await convs.feedback_pending(conn, contact.id)
    if waiting_feedback is not None:
        await convs.update_conversation(conn, waiting_feedback.id, feedback_pending=False)
        # A number answers the latest question: a daily check-in sent since the chat.
        prompt = await prompt_schedule.last_sent(conn, contact.id, now)
        asked_since = prompt is not None and prompt.due_at > waiting_feedback.last_activity_at
        score = _SCORE.match(turn.message.text)
        if score and not asked_since:
            await convs.update_conversation(conn, waiting_feedback.id, feedback=int(score.group(1)))
            return [Outbound(texts.render("texter.feedback_thanks"))]
    return None


async def _queue_urgent_offer(turn: Turn, text: str) -> list[Outbound]:
    """Inside night hours, a journal reply in crisis is queued for a buddy at once."""
    offer = await offers.pending_offer(turn.conn, turn.contact.id, turn.now)
    if offer is None or not offer.urgent or not choose_queue(turn).is_open(turn.now):
        return []
    await offers.take_offer(turn.conn, offer.id, turn.now)
    return await _start(turn, text, triage_category=offer.reason.partition(":")[2])


async def _start(turn: Turn, text: str, *, triage_category: str | None = None) -> list[Outbound]:
    queue = choose_queue(turn)
    if not queue.is_open(turn.now):
        closed = _out_of_hours(queue, turn.now)
        if triage_category is None:
            return [closed]
        return [Outbound(texts.render("texter.urgent")), closed]
    return await conversation_ops.start(
        turn.conn, turn.settings, turn.contact, queue.name, text, turn.now, triage=triage_category
    )


def _out_of_hours(queue: QueueConfig, now: datetime) -> Outbound:
    if queue.out_of_hours_reply:
        return Outbound(queue.out_of_hours_reply)
    return Outbound(texts.render("texter.out_of_hours", opens=next_opening(queue, now)))


async def _same_buddy(turn: Turn) -> list[Outbound]:
    earlier = await convs.history(turn.conn, turn.contact.id)
    last_buddy_id = next((c.buddy_id for c in earlier if c.buddy_id), None)
    buddy = await convs.buddy_by_id(turn.conn, last_buddy_id) if last_buddy_id else None
    if buddy is None or not buddy.active:
        return [Outbound(texts.render("texter.same_none"))] + await _start(turn, "")
    queue = choose_queue(turn)
    if not queue.is_open(turn.now):
        return [_out_of_hours(queue, turn.now)]
    return await conversation_ops.start(
        turn.conn, turn.settings, turn.contact, queue.name, "", turn.now, requested=buddy
    )


async def _forget(turn: Turn) -> list[Outbound]:
    """Delete the texter's conversations (their messages and buddies' notes with them),
    their journal, check-ups, appointments and prompts, and every earlier message they
    sent. The contact row stays, holding only the address and the opt-out flag we must
    keep honouring, under a new reference."""
    await convs.forget_texter(turn.conn, turn.contact.id)
    await erase.forget(turn.conn, turn.contact.id)
    await contacts_repo.forget(turn.conn, turn.contact.id)
    return [Outbound(texts.render("texter.forget_done"))]
