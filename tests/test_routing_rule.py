"""The routing rule, as a table: who sends what, in which state, and what it means."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from content import texts
from tests.buddy_world import World, buddy_world

HELP = texts.render("compliance.help")
QUEUED = texts.render("texter.queued")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with buddy_world(tmp_path) as w:
        yield w


# (state, message, what the sender gets back first: a template, or None for "nothing")
TABLE: list[tuple[str, str, str | None]] = [
    ("new texter", "HELP", HELP),
    ("new texter", "stop", texts.render("compliance.stopped")),
    ("new texter", "I feel low", QUEUED),
    ("new texter", "I want to die", texts.render("texter.urgent")),
    ("new texter", "crisis line please I want to die", texts.render("texter.urgent")),  # help wins
    ("new texter", "/next", texts.render("texter.for_volunteers")),
    ("new texter", "FORGET", texts.render("texter.forget_ask")),
    ("new texter", "JOIN NOPE12", texts.render("buddy.bad_code")),
    ("new texter", "CHECKUP", texts.render("checkup.status_off")),
    ("new texter", "checkup on", texts.render("checkup.on", time="09:00")),
    ("new texter", "checkup on my mate please", QUEUED),  # a message, not a setting
    ("new texter", "5", QUEUED),  # no check-up statement asked: an ordinary message
    ("new texter", "AREA crawley", texts.render("area.set_no_notices", area="West Sussex")),
    ("new texter", "area round here is rough tonight", QUEUED),
    ("new texter", "AREA Narnia", texts.render("area.unknown")),
    ("texter in chat", "HELP", HELP),
    ("texter in chat", "DONE", texts.render("texter.done")),
    ("texter in chat", "meetings halifax", None),  # relayed to the buddy, not a lookup
    ("texter in chat", "CHECKUP ON", None),
    ("texter in chat", "AREA Crawley", None),
    ("buddy", "HELP", HELP),
    ("buddy", "on", texts.render("buddy.on", waiting=0)),
    ("buddy", "next", texts.render("buddy.nobody_waiting")),
    ("buddy", "hello?", texts.render("buddy.no_chat")),
    ("coordinator", "/buddies", texts.render("coordinator.no_buddies")),
    ("coordinator", "/rota", texts.render("coordinator.rota_usage")),
]


@pytest.mark.parametrize(("state", "message", "expected"), TABLE)
async def test_routing_rule(world: World, state: str, message: str, expected: str | None) -> None:
    if state == "new texter":
        phone = world.phone("texter-new")
    elif state == "texter in chat":
        phone, sam, _ = await world.chat_with("texter-zed")
    elif state == "buddy":
        phone = await world.enrol("buddy-jo", "Jo")
    else:
        phone = world.coord
    if expected is None:
        await phone.send(message)
        [relayed] = await sam.expect()
        assert relayed.startswith("Owl-") and relayed.endswith(f": {message}")
        await world.idle()
        await phone.silent()
    else:
        got = await phone.say(message)
        assert got[0] == expected
