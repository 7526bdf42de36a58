"""The simulator channel end to end: compliance words and the API's contract."""

from __future__ import annotations

import asyncio
from contextlib import suppress

import httpx
import pytest

from bot.service import Service
from content import texts
from tests.conftest import SimPhone

STOPPED = texts.render("compliance.stopped")
STARTED = texts.render("compliance.started")
HELP = texts.render("compliance.help")
QUEUED = texts.render("texter.queued")


@pytest.mark.parametrize(
    "word", ["stop", " Stop ", "STOP", "stop!", "unsubscribe", "End", "quit", "optout"]
)
async def test_stop_family_opts_out_and_nothing_else_is_sent(
    sim_service: tuple[httpx.AsyncClient, Service], word: str
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "texter1")
    await phone.send(word)
    assert await phone.wait_for(1) == [STOPPED]
    await phone.send("hello, is anyone there?")
    await phone.send("HELP")  # help is still answered: it says how to come back
    got = await phone.wait_for(2)
    assert got == [STOPPED, HELP]


async def test_stop_please_is_not_an_opt_out(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "texter2")
    await phone.send("STOP please")
    [reply] = await phone.wait_for(1)
    assert reply == QUEUED  # an ordinary message: it reaches a buddy


@pytest.mark.parametrize("word", ["START", "unstop", "yes"])
async def test_opting_back_in(sim_service: tuple[httpx.AsyncClient, Service], word: str) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "texter3")
    await phone.send("STOP")
    await phone.send(word)
    await phone.send("hi again")
    got = await phone.wait_for(3)
    assert got == [STOPPED, STARTED, QUEUED]


async def test_yes_from_someone_not_opted_out_is_an_ordinary_message(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "texter4")
    await phone.send("yes")
    [reply] = await phone.wait_for(1)
    assert reply == QUEUED


@pytest.mark.parametrize("word", ["help", "INFO", " Help "])
async def test_help_says_what_night_owl_is_and_the_crisis_numbers(
    sim_service: tuple[httpx.AsyncClient, Service], word: str
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "texter5")
    await phone.send(word)
    [reply] = await phone.wait_for(1)
    assert reply == HELP
    for must in ("STOP", "999", "116 123", "85258"):
        assert must in reply


async def test_messages_cursor_returns_only_newer_messages_oldest_first(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "cursor")
    for text in ("help", "info", "stop"):
        await phone.send(text)
    got = await phone.wait_for(3)
    assert got == [HELP, HELP, STOPPED]
    first = await client.get("/sim/api/messages", params={"to": "cursor", "after": 0})
    messages = first.json()["messages"]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)
    later = await client.get(
        "/sim/api/messages", params={"to": "cursor", "after": messages[0]["id"]}
    )
    assert [m["id"] for m in later.json()["messages"]] == [m["id"] for m in messages[1:]]
    assert later.json()["cursor"] == messages[-1]["id"]


async def test_a_waiting_phone_is_answered_as_soon_as_a_message_arrives(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    params = {"to": "waiting", "after": "0", "wait": "25"}
    waiting = asyncio.create_task(client.get("/sim/api/messages", params=params))
    await SimPhone(client, "waiting").send("help")
    # Well before the 25 s deadline: the delivery itself wakes the waiting request.
    answer = await asyncio.wait_for(waiting, timeout=15)
    assert [m["text"] for m in answer.json()["messages"]] == [HELP]


async def test_a_wait_with_nothing_arriving_ends_empty_at_its_deadline(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    params = {"to": "quiet", "after": "7", "wait": "0.2"}
    answer = await client.get("/sim/api/messages", params=params)
    assert answer.json() == {"messages": [], "cursor": 7}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"from": "ok", "text": "hi"}', 202),
        (b'{"from": "has space", "text": "hi"}', 400),
        (b'{"from": "' + b"x" * 33 + b'", "text": "hi"}', 400),
        (b'{"from": "ok", "text": ""}', 400),
        (b'{"from": "ok"}', 400),
        (b"not json", 400),
        (b"[]", 400),
        (b'{"from": 5, "text": "hi"}', 400),
        (b'{"from": "ok", "text": "' + b"a" * 70_000 + b'"}', 413),
    ],
)
async def test_send_api_validates_input(
    sim_service: tuple[httpx.AsyncClient, Service], body: bytes, status: int
) -> None:
    client, _ = sim_service
    response = await client.post("/sim/api/send", content=body)
    assert response.status_code == status
    if status != 202:
        assert "error" in response.json()


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"to": "ok"}, 200),
        ({"to": "bad name"}, 400),
        ({}, 400),
        ({"to": "ok", "after": "x"}, 400),
        ({"to": "ok", "wait": "0.01"}, 200),
        ({"to": "ok", "wait": "soon"}, 400),
        ({"to": "ok", "wait": "-1"}, 400),
        ({"to": "ok", "wait": "26"}, 400),
        ({"to": "ok", "wait": "nan"}, 400),
    ],
)
async def test_messages_api_validates_input(
    sim_service: tuple[httpx.AsyncClient, Service], params: dict[str, str], status: int
) -> None:
    client, _ = sim_service
    assert (await client.get("/sim/api/messages", params=params)).status_code == status


async def test_unknown_route_is_404_and_health_and_metrics_answer(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    assert (await client.get("/nope")).status_code == 404
    health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["tasks"] == {"dispatch:sim": True, "inbox": True, "scheduler": True}
    phone = SimPhone(client, "metrics")
    await phone.send("hello")
    await phone.wait_for(1)
    metrics = (await client.get("/metrics")).text
    assert 'nightowl_inbound_messages_total{channel="sim",result="accepted"} 1.0' in metrics
    assert 'nightowl_outbound_messages_total{channel="sim",status="sent"} 1.0' in metrics


async def test_health_is_503_when_a_worker_dies(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, service = sim_service
    worker = service._tasks["inbox"]
    worker.cancel()
    with suppress(asyncio.CancelledError):
        await worker
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["tasks"]["inbox"] is False
