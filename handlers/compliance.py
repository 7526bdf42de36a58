"""Opt-out, opt-in and help keywords: checked before anything else, on every channel.

Only the bare keyword counts ("stop", " Stop ", "STOP!"): "STOP please" is an ordinary
message, as carriers treat it. Telegram's /stop, /start and /help count too, and
blocking the bot arrives as a ``blocked`` message.
"""

from __future__ import annotations

from bot.messages import Outbound
from bot.store.outbox import COMPLIANCE_KIND
from content import texts
from handlers.turn import Turn

# The carriers' opt-out list (CTIA / Twilio Advanced Opt-Out defaults).
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "/STOP"}
)
START_WORDS = frozenset({"START", "UNSTOP", "/START"})
HELP_WORDS = frozenset({"HELP", "INFO", "/HELP"})
# From someone opted out, YES means "let me back in"; from anyone else it is a reply.
REJOIN_WORDS = frozenset({"YES"})


def keyword(turn: Turn) -> str:
    """The message as a bare keyword (trailing punctuation dropped), else ""."""
    word = turn.words.rstrip(".!?")
    if turn.message.channel == "telegram" and word.startswith("/START "):
        word = "/START"  # a deep link: /start <parameter>
    return word if " " not in word else ""


async def handle(turn: Turn) -> list[Outbound] | None:
    """Outbound replies if this was a compliance event, else None (not ours)."""
    contact = turn.contact
    if turn.message.kind == "blocked":
        await turn.set_flags(opted_out=True)
        return []
    word = keyword(turn)
    if word in STOP_WORDS:
        await turn.set_flags(opted_out=True)
        return [Outbound(texts.render("compliance.stopped"), kind=COMPLIANCE_KIND)]
    if contact.opted_out and (word in START_WORDS or word in REJOIN_WORDS):
        await turn.set_flags(opted_out=False, unreachable=False)
        return [Outbound(texts.render("compliance.started"))]
    if word in START_WORDS and contact.unreachable:  # they unblocked the bot
        await turn.set_flags(unreachable=False)
    if word in HELP_WORDS:
        return [Outbound(texts.render("compliance.help"), kind=COMPLIANCE_KIND)]
    return None
