"""Coordinators' notices: /broadcast (compose and preview), /confirm, /scrap,
/broadcasts (list with delivery reports); and NOTICES ON/OFF for everyone."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.messages import Outbound
from content import texts
from handlers.reminders import parse_offsets
from handlers.turn import Turn
from handlers.when import Parsed, parse_remind
from scheduler import broadcasts, prefs
from scheduler.broadcasts import Audience
from scheduler.localtime import zone_of


def _when_words(at: datetime, turn: Turn) -> str:
    if at <= turn.now:
        return "now"
    return f"{at.astimezone(zone_of(turn.contact, turn.settings)):%a %-d %b %H:%M}"


def _parse_when(text: str, turn: Turn) -> tuple[datetime, bool] | None:
    """``now``, ``sat 9am``, either with ``urgent``: (send time, urgent)."""
    words = text.lower().split()
    urgent = "urgent" in words
    rest = " ".join(w for w in words if w != "urgent")
    if rest == "now":
        return turn.now, urgent
    parsed = parse_remind(rest, turn.now, zone_of(turn.contact, turn.settings))
    if not isinstance(parsed, Parsed) or parsed.what != "appointment":
        return None  # a leftover word means we misread it
    return parsed.starts_at, urgent


def _unknown_area(turn: Turn, name: str) -> Outbound:
    known = ", ".join(turn.content.network.places.areas)
    return Outbound(texts.render("broadcast.unknown_area", area=name, areas=known))


async def compose(turn: Turn, args: str) -> list[Outbound]:
    """``/broadcast all | now | 12h | The Hub is shut on Monday.``: a draft and a preview."""
    parts = [p.strip() for p in args.split("|", 3)]
    if len(parts) != 4 or not parts[3]:
        return [Outbound(texts.render("broadcast.help"))]
    audience = Audience.parse(parts[0])
    when = _parse_when(parts[1], turn)
    lasts = parse_offsets(parts[2])
    if audience is None or when is None or lasts is None or len(lasts) != 1:
        return [Outbound(texts.render("broadcast.help"))]
    if audience.kind == "area":
        area = turn.content.network.places.area(audience.name or "")
        if area is None:
            return [_unknown_area(turn, audience.name or "")]
        audience = Audience("area", area)  # as contacts store it: "crawley" -> "West Sussex"
    send_at, urgent = when
    expires_at = send_at + timedelta(minutes=lasts[0])
    text = parts[3]
    broadcast_id = await broadcasts.create(
        turn.conn, turn.contact, audience, text, send_at, expires_at, urgent, turn.now
    )
    seen = await broadcasts.preview(turn.conn, audience, text, turn.now)
    counts = ", ".join(f"{ch} {n}" for ch, n in seen.per_channel.items()) or "nobody yet"
    reply = texts.render(
        "broadcast.preview",
        id=broadcast_id,
        audience=str(audience) + (" (urgent)" if urgent else ""),
        counts=counts,
        segments=seen.segments,
        cost=f"{seen.cost:.2f}",
        when=_when_words(send_at, turn),
        expires=_when_words(expires_at, turn),
    )
    buttons = [
        [
            [texts.render("broadcast.confirm_button", id=broadcast_id), f"/confirm {broadcast_id}"],
            [texts.render("broadcast.scrap_button", id=broadcast_id), f"/scrap {broadcast_id}"],
        ]
    ]
    return [Outbound(reply, meta={"buttons": buttons})]


async def confirm(turn: Turn, args: str) -> list[Outbound]:
    broadcast_id = int(args) if args.isdigit() else 0
    if not await broadcasts.confirm(turn.conn, broadcast_id, turn.now):
        return [Outbound(texts.render("broadcast.not_found", id=args))]
    found = await broadcasts.get(turn.conn, broadcast_id)
    assert found is not None
    when = _when_words(found.send_at, turn)
    return [Outbound(texts.render("broadcast.confirmed", id=broadcast_id, when=when))]


async def scrap(turn: Turn, args: str) -> list[Outbound]:
    broadcast_id = int(args) if args.isdigit() else 0
    if not await broadcasts.scrap(turn.conn, broadcast_id, turn.now):
        return [Outbound(texts.render("broadcast.not_found", id=args))]
    return [Outbound(texts.render("broadcast.scrapped", id=broadcast_id))]


async def list_broadcasts(turn: Turn, args: str) -> list[Outbound]:
    """Recent notices, newest first, each with who sent it and what happened."""
    lines = []
    for b in await broadcasts.recent(turn.conn):
        r = await broadcasts.report(turn.conn, b.id)
        skipped = sum(r.skipped.values())
        outcome = (
            f"{r.sent} sent, {r.delivered} delivered, {r.failed} failed, {skipped} skipped, "
            f"{r.pending} waiting"
        )
        lines.append(
            f"#{b.id} {b.status} by {b.sender_ref} to {b.audience}, "
            f"{_when_words(b.send_at, turn)}: {outcome}"
        )
    if not lines:
        return [Outbound(texts.render("broadcast.none"))]
    return [Outbound(texts.render("broadcast.list", lines="\n".join(lines)))]


async def notices_command(turn: Turn, args: str) -> list[Outbound] | None:
    """``NOTICES ON`` joins the audience of team notices; ``NOTICES OFF`` leaves it."""
    choice = {"ON": True, "YES": True, "OFF": False, "NO": False}.get(args.upper())
    if choice is None:
        return None
    await prefs.set_values(turn.conn, turn.contact.id, turn.now, notices=choice)
    return [Outbound(texts.render("notices.on" if choice else "notices.off"))]
