"""JOIN <code> [name]: a one-use invite turns the sender into a peer buddy."""

from __future__ import annotations

import re

from bot.messages import Outbound
from bot.store import conversations as convs
from content import texts
from handlers.turn import Turn

_HANDLE = re.compile(r"^[A-Za-z][A-Za-z'-]{0,11}$")
ASK_HANDLE = "handle"


def join_request(turn: Turn) -> tuple[str, str] | None:
    """(code, handle or "") for "JOIN CODE [name]", else None."""
    words = turn.message.text.split()
    if len(words) in (2, 3) and words[0].upper().lstrip("/") == "JOIN":
        return words[1].upper(), words[2] if len(words) == 3 else ""
    return None


async def join(turn: Turn, code: str, handle: str) -> list[Outbound]:
    queue = await convs.use_invite(turn.conn, code, turn.contact.id, turn.now)
    if queue is None:
        return [Outbound(texts.render("buddy.bad_code"))]
    if handle:
        return await _enrol(turn, handle, queue)
    await convs.ask(turn.conn, turn.contact.id, ASK_HANDLE, turn.now, {"queue": queue})
    return [Outbound(texts.render("buddy.ask_handle"))]


async def answer_handle(turn: Turn, queue: str) -> list[Outbound]:
    return await _enrol(turn, turn.message.text.strip(), queue)


async def _enrol(turn: Turn, handle: str, queue: str) -> list[Outbound]:
    if not _HANDLE.match(handle):
        await convs.ask(turn.conn, turn.contact.id, ASK_HANDLE, turn.now, {"queue": queue})
        return [Outbound(texts.render("buddy.bad_handle"))]
    handle = handle[0].upper() + handle[1:]
    buddy = await convs.enrol(
        turn.conn, turn.contact.id, handle, queue, turn.settings.buddies.default_capacity, turn.now
    )
    if buddy is None:
        await convs.ask(turn.conn, turn.contact.id, ASK_HANDLE, turn.now, {"queue": queue})
        return [Outbound(texts.render("buddy.handle_taken", handle=handle))]
    await convs.answered(turn.conn, turn.contact.id)
    return [Outbound(texts.render("buddy.joined", handle=buddy.handle, queue=queue))]
