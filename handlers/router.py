"""The one routing rule for every channel: what a person's message means.

1. Compliance words (STOP family, START, HELP) first, always.
2. Nothing else is answered for someone who has opted out.
3. Commands (reminders, prompts, journal, broadcasts) are answered directly.
4. A reply to a recent daily prompt goes to the journal.
5. Everything else: for now an acknowledgement that says what we understood.
"""

from __future__ import annotations

from bot.messages import Outbound
from bot.segments import count_segments
from content import texts
from handlers import compliance, scheduling
from handlers.turn import Turn

# The acknowledgement quotes the message, shortened until the reply fits two SMS.
_ECHO_CHARS = 40
_MAX_SEGMENTS = 2


def _echo_reply(text: str) -> str:
    quoted = " ".join(text.split())[:_ECHO_CHARS]
    while True:
        shown = quoted if len(quoted) == len(" ".join(text.split())) else quoted + "..."
        reply = texts.render("general.echo", text=shown)
        if count_segments(reply) <= _MAX_SEGMENTS or not quoted:
            return reply
        quoted = quoted[:-5]


async def route(turn: Turn) -> list[Outbound]:
    answered = await compliance.handle(turn)
    if answered is not None:
        return answered
    if turn.contact.opted_out:
        return []
    for step in (scheduling.handle_command, scheduling.handle_journal_reply):
        answer = await step(turn)
        if answer is not None:
            return answer
    msg = turn.message
    if msg.kind in ("unsupported", "location") or not msg.text.strip():
        return [Outbound(texts.render("general.not_text"))]
    return [Outbound(_echo_reply(msg.text))]
