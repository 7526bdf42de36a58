"""Answering "SMART tonight crawley", "NA near BN1", "crisis", a shared location, MORE
and a result's number, from the recovery network map in ``content/``.

Each lookup is logged as (kind, place, count) only, never who asked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from bot.messages import Outbound
from bot.store import conversations as convs
from bot.store.content_tables import lookup_log
from content.formatting import (
    DetailsRequest,
    PageRequest,
    format_details,
    format_sms,
    format_telegram,
    parse_callback,
)
from content.query import LookupQuery, parse_query
from content.search import LookupResult, pick, search
from handlers.turn import Turn

ASKED = "lookup"
MAX_NUMBER = 30


def _answer(turn: Turn, result: LookupResult, page: int) -> Outbound:
    if turn.message.channel == "telegram":
        text, buttons = format_telegram(result, page)
        return Outbound(text, meta={"buttons": [[list(b) for b in row] for row in buttons]})
    return Outbound(format_sms(result, page))


def _details(turn: Turn, entry: Any) -> list[Outbound]:
    out = [Outbound(format_details(entry))]
    lat, lon = getattr(entry, "latitude", None), getattr(entry, "longitude", None)
    if turn.message.channel == "telegram" and lat is not None and lon is not None:
        out.append(Outbound("📍", meta={"location": [lat, lon]}))
    return out


async def _search(turn: Turn, query: LookupQuery, location: list[float] | None) -> LookupResult:
    where = (location[0], location[1]) if location else None
    return search(turn.content.network, query, turn.now, location=where)


async def _remember(turn: Turn, text: str, page: int, location: list[float] | None) -> None:
    await convs.ask(
        turn.conn, turn.contact.id, ASKED, turn.now, {"text": text, "page": page, "at": location}
    )


async def handle(turn: Turn) -> list[Outbound] | None:
    """An answer if this message is a lookup (or MORE / a number after one), else None."""
    network = turn.content.network
    msg = turn.message
    if msg.kind == "button":
        request = parse_callback(msg.text, network)
        if isinstance(request, DetailsRequest):
            return _details(turn, request.entry)
        if isinstance(request, PageRequest):
            result = await _search(turn, request.query, None)
            return [_answer(turn, result, request.page)]
        return None
    if msg.kind == "location":
        location = [msg.payload["latitude"], msg.payload["longitude"]]
        return await _new_lookup(turn, "meetings", location)

    asked = await convs.asked(turn.conn, turn.contact.id)
    if asked and asked[0] == ASKED:
        previous = asked[1]
        word = turn.words
        if word == "MORE" or (word.isdigit() and 0 < int(word) <= MAX_NUMBER):
            query = parse_query(previous["text"], network.places)
            if query is not None:
                result = await _search(turn, query, previous.get("at"))
                if word == "MORE":
                    page = previous["page"] + 1
                    await _remember(turn, previous["text"], page, previous.get("at"))
                    return [_answer(turn, result, page)]
                hit = pick(result, int(word))
                if hit is not None:
                    return _details(turn, hit)
    return await _new_lookup(turn, msg.text, None)


async def _new_lookup(turn: Turn, text: str, location: list[float] | None) -> list[Outbound] | None:
    query = parse_query(text, turn.content.network.places)
    if query is None:
        return None
    result = await _search(turn, query, location)
    await turn.conn.execute(
        insert(lookup_log).values(
            kind=str(result.kind), place=result.place, count=result.count, at=turn.now
        )
    )
    await _remember(turn, text, 0, location)
    return [_answer(turn, result, 0)]
