"""AREA: where a person wants local notices for, named by a town or a postcode.

``AREA Crawley``, ``AREA RH10`` (or a whole postcode), ``AREA West Sussex``: resolved
through the recovery map's places to the area as the map names it, which is all we
keep. ``AREA OFF`` clears it; ``AREA`` alone says what is set. Coordinators' notices
to ``area West Sussex`` reach subscribers who chose it.
"""

from __future__ import annotations

from bot.messages import Outbound
from bot.store import contacts as contacts_repo
from content import texts
from handlers.commands import is_sentence
from handlers.turn import Turn
from scheduler import prefs


async def area_command(turn: Turn, args: str) -> list[Outbound] | None:
    conn, contact_id = turn.conn, turn.contact.id
    if not args:
        current = await contacts_repo.area_of(conn, contact_id)
        if current is None:
            return [Outbound(texts.render("area.status_none"))]
        return [Outbound(texts.render("area.status", area=current))]
    if args.upper() in ("OFF", "NONE", "CLEAR"):
        await contacts_repo.set_area(conn, contact_id, None)
        return [Outbound(texts.render("area.off"))]
    places = turn.content.network.places
    area = places.area(args)
    if area is None:
        place = places.place(args)
        if place is not None:  # a real place, but outside every area we cover
            return [Outbound(texts.render("area.not_covered", place=place.name))]
        return None if is_sentence(args) else [Outbound(texts.render("area.unknown"))]
    await contacts_repo.set_area(conn, contact_id, area)
    chosen = await prefs.get(conn, contact_id)
    # The same people broadcasts.subscribers counts (bar a coming appointment's holder).
    gets_notices = chosen.notices or chosen.prompt_time is not None
    return [
        Outbound(texts.render("area.set" if gets_notices else "area.set_no_notices", area=area))
    ]
