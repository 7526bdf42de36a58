"""Reminders, daily prompts and the journal, check-ups, areas and broadcasts: the
router's entry points.

A command is the first word of a message (with or without Telegram's ``/`` and
``@botname``) and the rest is its argument. A command handler may still answer None
("not mine after all": ``drop me a line`` is not ``DROP 2``). Coordinator commands
need the ``/`` and are invisible to everyone else.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.messages import Outbound
from handlers import areas, broadcasts, checkups, prompts, reminders
from handlers.roles import is_coordinator
from handlers.turn import Turn

Command = Callable[[Turn, str], Awaitable[list[Outbound] | None]]

FOR_EVERYONE: dict[str, Command] = {
    "REMIND": reminders.remind,
    "APPTS": reminders.list_appts,
    "DROP": reminders.drop,
    "REMINDERS": reminders.set_offsets,
    "STAFF": reminders.staff_consent,
    "PROMPTS": prompts.prompts_command,
    "QUIET": prompts.quiet_command,
    "WEEKLY": prompts.weekly_command,
    "JOURNAL": prompts.journal_command,
    "SHARE": prompts.share_command,
    "CHECKUP": checkups.checkup_command,
    "NOTICES": broadcasts.notices_command,
    "AREA": areas.area_command,
}
FOR_COORDINATORS: dict[str, Command] = {
    "/APPT": reminders.staff_add,
    "/BROADCAST": broadcasts.compose,
    "/BROADCASTS": broadcasts.list_broadcasts,
    "/CONFIRM": broadcasts.confirm,
    "/SCRAP": broadcasts.scrap,
}


def split_command(text: str) -> tuple[str, str]:
    """``"/appts@night_owl_bot"`` → ``("/APPTS", "")``; ``"remind tue 10:30 GP"`` →
    ``("REMIND", "tue 10:30 GP")``."""
    word, _, args = text.strip().partition(" ")
    return word.split("@", 1)[0].upper().rstrip(".!?"), args.strip()


async def handle_command(turn: Turn) -> list[Outbound] | None:
    """REMIND, APPTS, DROP, PROMPTS, JOURNAL, SHARE, CHECKUP, AREA, and coordinators'
    /appt, /broadcast…"""
    if turn.message.kind not in ("text", "button"):
        return None
    word, args = split_command(turn.message.text)
    if word in FOR_COORDINATORS:
        if not is_coordinator(turn.settings, turn.contact):
            return None
        return await FOR_COORDINATORS[word](turn, args)
    command = FOR_EVERYONE.get(word.removeprefix("/"))
    return await command(turn, args) if command else None


async def handle_journal_reply(turn: Turn) -> list[Outbound] | None:
    """A reply to a recent daily prompt becomes a journal entry."""
    return await prompts.journal_reply(turn)
