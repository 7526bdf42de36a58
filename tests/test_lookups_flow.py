"""Network-map lookups through the real pipeline: the simulator, Telegram, /map."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select

from bot.segments import count_segments
from bot.service import Service
from bot.store.content_tables import lookup_log
from content import texts
from tests.buddy_world import buddy_world
from tests.conftest import SimPhone


async def test_lookup_more_and_details_by_sms_words(tmp_path: Path) -> None:
    async with buddy_world(tmp_path) as world:
        phone = world.phone("texter-anna")
        [answer] = await phone.say("meetings halifax")
        assert count_segments(answer) <= 2
        assert "1" in answer and "Halifax" in answer
        [details] = await phone.say("1")
        assert count_segments(details) <= 2
        assert details != answer
        [more] = await phone.say("MORE")
        assert more != answer and count_segments(more) <= 2
        async with world.service.store.read() as conn:
            logged = (await conn.execute(select(lookup_log))).all()
        assert [(r.kind, r.count > 0) for r in logged] == [("meetings", True)]
        assert logged[0].place == "Halifax"


async def test_a_person_asking_for_help_reaches_a_buddy_not_a_lookup(tmp_path: Path) -> None:
    async with buddy_world(tmp_path) as world:
        phone = world.phone("texter-ben")
        assert await phone.say("I need someone to talk to tonight") == [
            texts.render("texter.queued")
        ]


async def test_crisis_lookup_gives_the_crisis_card(tmp_path: Path) -> None:
    async with buddy_world(tmp_path) as world:
        [card] = await world.phone("texter-cat").say("crisis")
        for number in ("999", "116 123", "85258"):
            assert number in card


async def test_map_page_and_reload(sim_service: tuple[httpx.AsyncClient, Service]) -> None:
    client, service = sim_service
    page = await client.get("/map")
    assert page.status_code == 200
    assert page.text.lstrip().lower().startswith("<!doctype html>")
    assert "116 123" in page.text
    reloaded = await client.post("/admin/content/reload")
    assert reloaded.status_code == 200
    assert reloaded.json()["meetings"] == len(service.content.network.meetings)


async def test_sim_phone_lookup_uses_sms_format(
    sim_service: tuple[httpx.AsyncClient, Service],
) -> None:
    client, _ = sim_service
    phone = SimPhone(client, "lookup-person")
    await phone.send("SMART tonight crawley")
    [answer] = await phone.wait_for(1)
    assert count_segments(answer) <= 2


async def test_coordinators_see_gaps_and_reload_the_map(tmp_path: Path) -> None:
    async with buddy_world(tmp_path) as world:
        phone = world.phone("texter-dee")
        [found] = await phone.say("meetings halifax")
        [nothing] = await phone.say("CA meeting sunday brighton")
        [gaps] = await world.coord.say("/gaps 1")
        assert gaps.startswith("Lookups that found nothing in 1 night(s): meetings Brighton x1")
        network = world.service.content.network
        assert await world.coord.say("/reload") == [
            texts.render(
                "coordinator.reloaded",
                meetings=len(network.meetings),
                services=len(network.services),
            )
        ]
        assert found != nothing


async def test_telegram_lookup_buttons_details_and_a_map_pin(tmp_path: Path) -> None:
    from tests.test_telegram import CHAT, HEADERS, telegram_world

    async with telegram_world(tmp_path) as world:
        update = world.fake.text_update(CHAT, "meetings halifax")
        assert (
            await world.client.post("/telegram/webhook", json=update, headers=HEADERS)
        ).status_code == 200
        [answer] = await world.fake.wait_for_sent(1)
        assert answer.reply_markup is not None
        buttons = [b for row in answer.reply_markup["inline_keyboard"] for b in row]
        assert 1 <= len([b for b in buttons if b["text"].isdigit()]) <= 5
        details = next(b for b in buttons if b["text"] == "1")["callback_data"]
        press = world.fake.callback_update(CHAT, details, answer.message_id)
        assert (
            await world.client.post("/telegram/webhook", json=press, headers=HEADERS)
        ).status_code == 200
        await world.fake.wait_for_requests("answerCallbackQuery")
        sent = await world.fake.wait_for_sent(4)  # the pin follows a second later (1/s per chat)
        methods = [c.method for c in sent]
        assert sorted(methods) == [
            "answerCallbackQuery",
            "sendLocation",
            "sendMessage",
            "sendMessage",
        ]
        [details] = [c for c in sent[1:] if c.method == "sendMessage"]
        assert details.text and details.text != answer.text and "Halifax" in details.text


async def test_a_shared_telegram_location_finds_the_nearest(tmp_path: Path) -> None:
    from tests.test_telegram import CHAT, HEADERS, telegram_world

    async with telegram_world(tmp_path) as world:
        here = world.fake.location_update(CHAT, 53.7248, -1.8658)  # central Halifax
        assert (
            await world.client.post("/telegram/webhook", json=here, headers=HEADERS)
        ).status_code == 200
        [answer] = await world.fake.wait_for_sent(1)
        assert answer.text is not None and "Halifax" in answer.text
        async with world.service.store.read() as conn:
            [logged] = (await conn.execute(select(lookup_log))).all()
        assert (logged.kind, logged.place) == ("meetings", "shared location")
