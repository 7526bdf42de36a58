"""The one routing rule for every channel: what a person's message means.

1. Compliance words (STOP family, START, HELP) first, always. STOP in the middle of a
   buddy conversation ends it and tells the buddy.
2. Nothing else is answered for someone who has opted out or been blocked.
3. JOIN <code>, and a new buddy's answer to "what name should texters see?".
4. Coordinators' slash commands (role checked now, from config).
5. Buddies: their words and their replies to texters.
6. Everyone else is a texter: see ``handlers.texters``.
"""

from __future__ import annotations

from bot.messages import Outbound
from bot.store import conversations as convs
from content import texts
from handlers import buddy_side, compliance, coordinators, enrolment, roles, scheduling, texters
from handlers import conversation as conversation_ops
from handlers.turn import Turn


async def route(turn: Turn) -> list[Outbound]:
    """What this message means, plus (on Telegram) stopping a pressed button's spinner."""
    answer = await _route(turn)
    callback = turn.message.payload.get("callback_id")
    if turn.message.kind == "button" and callback:
        return [
            Outbound("(button)", kind="button_ack", meta={"answer_callback": callback}),
            *answer,
        ]
    return answer


async def _route(turn: Turn) -> list[Outbound]:
    conn, contact = turn.conn, turn.contact
    await texters.remember_entry(turn)
    answered = await compliance.handle(turn)
    if answered is not None:
        return answered + await _after_compliance(turn)
    if contact.opted_out or await convs.is_blocked(conn, contact.id):
        return []

    join = enrolment.join_request(turn)
    if join is not None:
        return await enrolment.join(turn, *join)
    pending = await convs.asked(conn, contact.id)
    if pending and pending[0] == enrolment.ASK_HANDLE:
        return await enrolment.answer_handle(turn, pending[1]["queue"])

    if roles.is_coordinator(turn.settings, contact):
        command = coordinators.command_of(turn)
        if command is not None:
            return await coordinators.handle(turn, *command)
        scheduled = await scheduling.handle_command(turn)  # /broadcast, /appt, …
        if scheduled is not None:
            return scheduled
    buddy = await convs.buddy_for_contact(conn, contact.id)
    if buddy is not None:
        return await buddy_side.handle(turn, buddy)
    return await texters.handle(turn)


async def _after_compliance(turn: Turn) -> list[Outbound]:
    """What a compliance word means for conversations and roles."""
    conn = turn.conn
    fresh = await convs.open_for_texter(conn, turn.contact.id)
    opted_out = compliance.keyword(turn) in compliance.STOP_WORDS or turn.message.kind == "blocked"
    if opted_out and fresh is not None:
        return await conversation_ops.close(
            conn, fresh, turn.now, "opted_out", texter_reachable=False
        )
    if compliance.keyword(turn) in compliance.HELP_WORDS:
        if await convs.buddy_for_contact(conn, turn.contact.id):
            return [Outbound(texts.render("buddy.help"))]
        if roles.is_coordinator(turn.settings, turn.contact):
            return [Outbound(texts.render("coordinator.help"))]
    return []
