"""Reminders, daily prompts and the journal, broadcasts: the router's entry points.

(Being filled in for the scheduler issue; both return None until then: "not mine".)
"""

from __future__ import annotations

from bot.messages import Outbound
from handlers.turn import Turn


async def handle_command(turn: Turn) -> list[Outbound] | None:
    """REMIND, APPTS, DROP, PROMPTS, JOURNAL, SHARE, and coordinators' /appt, /broadcast…"""
    return None


async def handle_journal_reply(turn: Turn) -> list[Outbound] | None:
    """A reply to a recent daily prompt becomes a journal entry."""
    return None
