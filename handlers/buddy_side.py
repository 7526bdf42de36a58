"""A buddy's words: duty, taking texters, talking, passing, closing, notes, crisis card,
flags. On SMS they are plain words (NEXT, DONE…); on Telegram the same with a slash, or
buttons. With several chats open, "7K: text" picks one; on Telegram replying to a
message picks its chat; otherwise the most recent chat is meant (and the buddy is told).
"""

from __future__ import annotations

import re

from bot.messages import Outbound, Priority
from bot.store import conversations as convs
from bot.store import outbox as outbox_repo
from bot.store.conversations import Buddy, Conversation
from content import texts
from handlers import conversation as ops
from handlers.turn import Turn

_ADDRESSED = re.compile(r"^\s*(?:owl-)?([A-Za-z0-9]{2})\s*:\s*(.*)$", re.DOTALL | re.IGNORECASE)
COMMANDS = frozenset(
    {
        "ON",
        "OFF",
        "NEXT",
        "TAKE",
        "PASS",
        "DONE",
        "NOTE",
        "CRISIS",
        "FLAG",
        "LIST",
        "FALLBACK",
        "BUDDYHELP",
    }
)


def _split_command(text: str) -> tuple[str, str]:
    """("DONE", "safe") from "/done safe" or "Done safe"; ("", text) for a plain message."""
    head, _, rest = text.strip().partition(" ")
    word = head.lstrip("/").upper()
    if word.startswith(ops.TAKE_PREFIX.upper()):
        return "TAKE", word[len(ops.TAKE_PREFIX) :]
    return (word, rest.strip()) if word in COMMANDS else ("", text.strip())


async def _target(
    turn: Turn, buddy: Buddy, code: str | None
) -> tuple[Conversation | None, list[Outbound]]:
    """The chat a message is for, or None with an explanation."""
    open_chats = await convs.active_for_buddy(turn.conn, buddy.id)
    me = buddy.contact_id
    if not open_chats:
        return None, [Outbound(texts.render("buddy.no_chat"), to=me)]
    if code is not None:
        match = next((c for c in open_chats if c.pseudonym == code.upper()), None)
        if match is None:
            labels = ", ".join(c.label for c in open_chats)
            return None, [
                Outbound(
                    texts.render("buddy.unknown_code", code=code.upper(), labels=labels), to=me
                )
            ]
        return match, []
    reply_to = turn.message.payload.get("reply_to")
    if reply_to is not None:
        meta = await outbox_repo.sent_meta(turn.conn, buddy.contact_id, str(reply_to))
        match = next((c for c in open_chats if c.id == meta.get("conversation_id")), None)
        if match is not None:
            return match, []
    return open_chats[0], []


async def handle(turn: Turn, buddy: Buddy) -> list[Outbound]:
    conn, now, me = turn.conn, turn.now, buddy.contact_id
    text = turn.message.text
    code: str | None = None
    addressed = _ADDRESSED.match(text)
    if addressed:
        code, text = addressed.group(1), addressed.group(2)
    word, rest = _split_command(text)

    if word == "ON":
        await convs.set_buddy(conn, buddy.id, on_duty=True)
        waiting = await convs.waiting_count(conn, buddy.queues)
        return [Outbound(texts.render("buddy.on", waiting=waiting), to=me)]
    if word == "OFF":
        await convs.set_buddy(conn, buddy.id, on_duty=False, ready_since=None)
        count = await convs.open_load(conn, buddy.id)
        key = "buddy.off_with_chats" if count else "buddy.off"
        return [Outbound(texts.render(key, count=count), to=me)]
    if word == "FALLBACK":
        await convs.set_buddy(conn, buddy.id, fallback=rest.upper() != "OFF")
        return [
            Outbound(
                texts.render("buddy.fallback", on="on" if rest.upper() != "OFF" else "off"), to=me
            )
        ]
    if word in ("NEXT", "TAKE"):
        wanted = int(rest) if word == "TAKE" and rest.isdigit() else None
        return await ops.take_next(
            conn, buddy, now, wanted, ready_minutes=turn.settings.buddies.ready_minutes
        )
    if word == "LIST":
        chats = await convs.active_for_buddy(conn, buddy.id)
        if not chats:
            return [Outbound(texts.render("buddy.no_chat"), to=me)]
        return [
            Outbound(texts.render("buddy.chats", labels=", ".join(c.label for c in chats)), to=me)
        ]
    if word == "BUDDYHELP":
        return [Outbound(texts.render("buddy.help"), to=me)]

    conv, problem = await _target(turn, buddy, code)
    if conv is None:
        return problem
    if word == "DONE":
        if conv.urgent and rest.upper() != "SAFE":
            return [Outbound(texts.render("buddy.needs_safe", label=conv.label), to=me)]
        return await ops.close(conn, conv, now, "buddy")
    if word == "PASS":
        return await ops.pass_back(conn, turn.settings, buddy, conv, rest, now)
    if word == "NOTE":
        await convs.update_conversation(conn, conv.id, handover_note=rest or None)
        return [ops.to_buddy(buddy, conv, texts.render("buddy.note_saved", label=conv.label))]
    if word == "CRISIS":
        card = texts.render("texter.crisis_card")
        await convs.add_message(conn, conv, "buddy", card, now)  # it answers them, in the record
        return [
            ops.to_texter(conv, card),
            ops.to_buddy(buddy, conv, texts.render("buddy.crisis_sent", label=conv.label)),
        ]
    if word == "FLAG":
        flag = texts.render(
            "coordinator.flag", handle=buddy.handle, label=conv.label, id=conv.id, text=rest
        )
        alerts = [
            Outbound(flag, to=c.id, priority=Priority.ALERT)
            for c in await ops.coordinators_on_call(conn, turn.settings)
        ]
        return [*alerts, ops.to_buddy(buddy, conv, texts.render("buddy.flagged"))]
    out = await ops.relay_to_texter(conn, buddy, conv, text, now)
    several = len(await convs.active_for_buddy(conn, buddy.id)) > 1
    if several and code is None and turn.message.payload.get("reply_to") is None:
        out.append(ops.to_buddy(buddy, conv, texts.render("buddy.sent_to", label=conv.label)))
    return out
