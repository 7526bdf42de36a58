"""Coordinators' commands: invites, removing buddies, the rota, stats, blocking.

The sender's role is checked by the router each time, from config (never cached).
"""

from __future__ import annotations

import statistics
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Outbound
from bot.queues import DAYS
from bot.store import conversations as convs
from bot.store.content_tables import lookup_misses
from bot.store.conversations import Conversation
from content import texts
from content.errors import ContentError
from handlers import conversation as ops
from handlers.turn import Turn

COMMANDS = frozenset(
    {"INVITE", "REMOVE", "ROTA", "STATS", "BUDDIES", "BLOCK", "UNBLOCK", "CLOSE", "RELOAD", "GAPS"}
)
MAX_STATS_NIGHTS = 90


def command_of(turn: Turn) -> tuple[str, list[str]] | None:
    words = turn.message.text.split()
    if not words or not words[0].startswith("/"):
        return None
    word = words[0][1:].upper()
    return (word, words[1:]) if word in COMMANDS else None


async def handle(turn: Turn, word: str, args: list[str]) -> list[Outbound]:
    if word == "CLOSE":
        return await _close(turn, args)
    return [Outbound(await _COMMANDS[word](turn, args))]


async def _invite(turn: Turn, args: list[str]) -> str:
    queue = args[0].lower() if args else "default"
    names = turn.settings.queues_by_name
    if queue not in names:
        return texts.render("coordinator.unknown_queue", queue=queue, queues=", ".join(names))
    expires = turn.now + timedelta(hours=turn.settings.buddies.invite_ttl_hours)
    code = await convs.create_invite(turn.conn, queue, turn.contact.id, expires)
    return texts.render("coordinator.invite", queue=queue, code=code)


async def _remove(turn: Turn, args: list[str]) -> str:
    handle = " ".join(args)
    buddy = await convs.buddy_by_handle(turn.conn, handle) if handle else None
    if buddy is None or not buddy.active:
        return texts.render("coordinator.no_such_buddy", handle=handle or "(none)")
    await convs.set_buddy(turn.conn, buddy.id, active=False, on_duty=False)
    return texts.render("coordinator.removed", handle=buddy.handle)


def _night(word: str, today: date) -> date | None:
    word = word.lower()
    if word == "tonight":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    if word[:3] in DAYS:
        return today + timedelta(days=(DAYS.index(word[:3]) - today.weekday()) % 7)
    try:
        return date.fromisoformat(word)
    except ValueError:
        return None


async def _rota(turn: Turn, args: list[str]) -> str:
    if len(args) < 3 or args[0].lower() not in turn.settings.queues_by_name:
        return texts.render("coordinator.rota_usage")
    queue = turn.settings.queues_by_name[args[0].lower()]
    night = _night(args[1], turn.now.astimezone(queue.zone).date())
    if night is None:
        return texts.render("coordinator.rota_usage")
    ids = []
    for handle in args[2:]:
        buddy = await convs.buddy_by_handle(turn.conn, handle.strip(","))
        if buddy is None or not buddy.active:
            return texts.render("coordinator.no_such_buddy", handle=handle)
        ids.append(buddy.id)
    await convs.set_rota(turn.conn, queue.name, night, ids)
    return texts.render(
        "coordinator.rota_set",
        queue=queue.name,
        night=night.strftime("%a %d %b"),
        handles=", ".join(args[2:]),
    )


async def _buddies(turn: Turn, args: list[str]) -> str:
    everyone = await convs.list_buddies(turn.conn)
    if not everyone:
        return texts.render("coordinator.no_buddies")
    listed = ", ".join(f"{b.handle} ({'on' if b.on_duty else 'off'})" for b in everyone)
    return texts.render("coordinator.buddies", list=listed)


async def _block(turn: Turn, args: list[str], on: bool = True) -> str:
    ref = args[0].upper() if args else ""
    target = await convs.contact_by_ref(turn.conn, ref) if ref else None
    if target is None:
        return texts.render("coordinator.no_such_ref", ref=ref or "(none)")
    await convs.set_blocked(turn.conn, target, turn.contact.id, turn.now, on)
    return texts.render("coordinator.blocked" if on else "coordinator.unblocked", ref=ref)


async def _unblock(turn: Turn, args: list[str]) -> str:
    return await _block(turn, args, on=False)


async def _close(turn: Turn, args: list[str]) -> list[Outbound]:
    """A coordinator may close any chat, urgent ones included (by its Owl code)."""
    code = args[0].upper().removeprefix("OWL-") if args else ""
    open_chats = [c for c in await convs.open_conversations(turn.conn) if c.pseudonym == code]
    if len(open_chats) != 1:
        return [Outbound(texts.render("coordinator.no_such_ref", ref=code or "(none)"))]
    conv = open_chats[0]
    closing = await ops.close(turn.conn, conv, turn.now, "coordinator")
    return [Outbound(texts.render("coordinator.closed", label=conv.label)), *closing]


def _wait_figures(chats: list[Conversation]) -> tuple[str, str]:
    waits = sorted(
        (c.first_reply_at - c.created_at).total_seconds() / 60 for c in chats if c.first_reply_at
    )
    if not waits:
        return "-", "-"
    median = statistics.median(waits)
    p90 = waits[min(len(waits) - 1, round(0.9 * (len(waits) - 1)))]
    return f"{median:.0f}m", f"{p90:.0f}m"


async def _stats(turn: Turn, args: list[str]) -> str:
    nights = int(args[0]) if args and args[0].isdigit() else 1
    nights = max(1, min(MAX_STATS_NIGHTS, nights))
    since = _nights_start(turn.now, nights, turn.settings.zone)
    chats = await convs.in_range(turn.conn, since)
    if not chats:
        return texts.render("coordinator.stats_none", nights=nights)
    lines = [texts.render("coordinator.stats_head", nights=nights)]
    for queue in sorted({c.queue for c in chats}):
        mine = [c for c in chats if c.queue == queue]
        median, p90 = _wait_figures(mine)
        scores = [c.feedback for c in mine if c.feedback is not None]
        lines.append(
            texts.render(
                "coordinator.stats_line",
                queue=queue,
                count=len(mine),
                median=median,
                p90=p90,
                unanswered=sum(1 for c in mine if c.first_reply_at is None),
                urgent=sum(1 for c in mine if c.urgent),
                feedback=f"{statistics.mean(scores):.1f}/5" if scores else "-",
            )
        )
    return "\n".join(lines)


def _nights_start(now: datetime, nights: int, zone: ZoneInfo) -> datetime:
    """A night runs noon to noon, local time: the start of the last ``nights`` of them."""
    local = now.astimezone(zone)
    noon = local.replace(hour=12, minute=0, second=0, microsecond=0)
    if local < noon:
        noon -= timedelta(days=1)
    return noon - timedelta(days=nights - 1)


async def _reload(turn: Turn, args: list[str]) -> str:
    """Load content/ again; bad content is refused and the old map stays live."""
    try:
        network = await turn.content.reload_async()
    except ContentError as exc:
        return texts.render("coordinator.reload_refused", problem=str(exc.problems[0]))
    return texts.render(
        "coordinator.reloaded", meetings=len(network.meetings), services=len(network.services)
    )


async def _gaps(turn: Turn, args: list[str]) -> str:
    """Where people looked and found nothing: the map's gaps (no one's identity)."""
    nights = int(args[0]) if args and args[0].isdigit() else 7
    since = _nights_start(turn.now, max(1, min(MAX_STATS_NIGHTS, nights)), turn.settings.zone)
    misses = await lookup_misses(turn.conn, since)
    if not misses:
        return texts.render("coordinator.no_gaps", nights=nights)
    listed = ", ".join(
        f"{kind} {place or 'anywhere'} x{count}" for kind, place, count in misses[:8]
    )
    return texts.render("coordinator.gaps", nights=nights, list=listed)


_COMMANDS = {
    "INVITE": _invite,
    "REMOVE": _remove,
    "ROTA": _rota,
    "STATS": _stats,
    "BUDDIES": _buddies,
    "BLOCK": _block,
    "RELOAD": _reload,
    "GAPS": _gaps,
    "UNBLOCK": _unblock,
}
