"""Telegram end to end: the real python-telegram-bot client against a fake Bot API."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.messages import Outbound
from bot.outgoing import write
from bot.service import Service
from bot.store import contacts as contacts_repo
from bot.store.tables import inbox, outbox
from content import texts
from tests.conftest import count_rows, eventually, make_settings, serving
from tests.fakes.server import serve_app
from tests.fakes.telegram_api import FakeTelegram, SentCall, UploadedFile

TOKEN = "123456:TEST-token_abc"
SECRET = "s3cret-token"
CHAT = 4242
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@dataclass
class World:
    fake: FakeTelegram
    client: httpx.AsyncClient
    service: Service


@asynccontextmanager
async def telegram_world(
    tmp_path: Path, fake: FakeTelegram | None = None, **telegram: Any
) -> AsyncIterator[World]:
    fake = fake or FakeTelegram(TOKEN)
    async with serve_app(fake.app) as fake_url:
        settings = make_settings(
            tmp_path,
            telegram={
                "token": TOKEN,
                "webhook_secret": SECRET,
                "api_base_url": fake_url,
                **telegram,
            },
            server={"public_url": "https://owl.example.org"},
        )
        async with (
            serving(settings) as (client, service),
        ):
            yield World(fake, client, service)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with telegram_world(tmp_path) as w:
        yield w


async def post_update(
    world: World, update: dict[str, Any], headers: dict[str, str] = HEADERS
) -> int:
    response = await world.client.post("/telegram/webhook", json=update, headers=headers)
    return response.status_code


async def test_start_up_checks_the_token_and_registers_the_webhook(world: World) -> None:
    assert world.fake.requests_count["getMe"] >= 1
    assert world.fake.webhook is not None
    assert world.fake.webhook.url == "https://owl.example.org/telegram/webhook"
    assert world.fake.webhook.secret_token == SECRET


async def test_webhook_message_gets_one_reply_even_when_retried(world: World) -> None:
    update = world.fake.text_update(CHAT, "hello owl")
    assert await post_update(world, update) == 200
    assert await post_update(world, update) == 200  # Telegram retrying the same update
    [sent] = await world.fake.wait_for_sent(1)
    assert sent.chat_id == CHAT
    assert sent.text == texts.render("texter.queued")
    assert await count_rows(world.service, inbox) == 1
    # Nothing else arrives: the retry was dropped.
    await eventually(
        lambda: count_rows(world.service, outbox, outbox.c.status == "pending"), lambda n: n == 0
    )
    assert len(world.fake.sent_to(CHAT)) == 1


@pytest.mark.parametrize("headers", [{}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}])
async def test_webhook_without_the_secret_is_403_and_stores_nothing(
    world: World, headers: dict[str, str]
) -> None:
    assert await post_update(world, world.fake.text_update(CHAT, "hi"), headers) == 403
    assert await count_rows(world.service, inbox) == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"message": {}}',
        b'{"update_id": "x"}',
        b'{"update_id": 5, "message": 7}',
    ],
)
async def test_malformed_updates_are_400(world: World, body: bytes) -> None:
    response = await world.client.post("/telegram/webhook", content=body, headers=HEADERS)
    assert response.status_code == 400
    assert await count_rows(world.service, inbox) == 0


async def test_group_chats_are_acknowledged_and_ignored(world: World) -> None:
    update = world.fake.text_update(CHAT, "hi")
    update["message"]["chat"] = {"id": -100, "type": "group", "title": "a group"}
    assert await post_update(world, update) == 200
    assert await count_rows(world.service, inbox) == 0


async def test_stop_then_start_and_blocking_the_bot(world: World) -> None:
    fake = world.fake
    await post_update(world, fake.text_update(CHAT, "/stop"))
    [stopped] = await fake.wait_for_sent(1)
    assert stopped.text == texts.render("compliance.stopped")
    await post_update(world, fake.text_update(CHAT, "anyone there?"))
    await post_update(world, fake.text_update(CHAT, "/start"))
    sent = await fake.wait_for_sent(2)
    assert [c.text for c in sent] == [
        texts.render("compliance.stopped"),
        texts.render("compliance.started"),
    ]

    await post_update(world, fake.my_chat_member_update(CHAT, "kicked"))

    async def opted_out() -> bool:
        async with world.service.store.read() as conn:
            contact = await contacts_repo.find(conn, "telegram", str(CHAT))
        return contact is not None and contact.opted_out

    assert await eventually(opted_out, bool)
    await post_update(world, fake.text_update(CHAT, "hello?"))
    await eventually(
        lambda: count_rows(world.service, inbox, inbox.c.status == "pending"), lambda n: n == 0
    )
    assert len(fake.sent) == 2


async def queue(service: Service, chat: int, *texts_: str) -> None:
    """Queue outbound messages for a chat the way a handler or scheduled job would."""
    async with service.store.tx() as conn:
        contact = await contacts_repo.get_or_create(conn, "telegram", str(chat))
        channels = await write(
            conn,
            {"telegram": service.senders["telegram"].split},
            contact,
            [Outbound(t) for t in texts_],
        )
    service.outlet.notify(channels)


async def test_retry_after_pauses_sending_for_as_long_as_telegram_asks(world: World) -> None:
    world.fake.fail_next(error="retry_after", retry_after=1)
    began = time.monotonic()
    await queue(world.service, CHAT, "first")
    [sent] = await world.fake.wait_for_sent(1)
    assert sent.text == "first"
    assert sent.at - began >= 1.0
    assert world.fake.too_many_requests == 1


async def test_server_errors_are_retried(world: World) -> None:
    world.fake.fail_next(error="server", status=502)
    world.fake.fail_next(error="server", status=500)
    await queue(world.service, CHAT, "eventually")
    [sent] = await world.fake.wait_for_sent(1)
    assert sent.text == "eventually"


async def test_a_blocked_bot_marks_the_contact_and_queues_nothing_more(world: World) -> None:
    world.fake.blocked_chats.add(CHAT)
    await queue(world.service, CHAT, "are you ok?")

    async def row_status() -> str | None:
        async with world.service.store.read() as conn:
            return (await conn.execute(select(outbox.c.status))).scalar_one_or_none()

    assert await eventually(row_status, lambda s: s == "failed") == "failed"
    async with world.service.store.read() as conn:
        contact = await contacts_repo.find(conn, "telegram", str(CHAT))
    assert contact is not None and contact.unreachable
    await queue(world.service, CHAT, "more")
    assert await count_rows(world.service, outbox) == 1


async def test_long_texts_are_split_and_one_chat_gets_at_most_one_per_second(
    tmp_path: Path,
) -> None:
    fake = FakeTelegram(TOKEN, global_per_second=30, per_chat_per_second=1)
    async with telegram_world(tmp_path, fake) as w:
        long_text = " ".join(["recovery"] * 1200)  # ~10,800 characters: three messages
        await queue(w.service, CHAT, long_text, "after")
        sent = await fake.wait_for_sent(4, timeout=15)
        assert [len(c.text or "") <= 4096 for c in sent] == [True] * 4
        assert " ".join(c.text or "" for c in sent[:3]) == long_text
        assert sent[3].text == "after"
        gaps = [b.at - a.at for a, b in pairwise(sent)]
        assert min(gaps) >= 0.95
        assert fake.too_many_requests == 0


async def test_many_chats_stay_under_the_global_limit(tmp_path: Path) -> None:
    fake = FakeTelegram(TOKEN, global_per_second=30, per_chat_per_second=1)
    async with telegram_world(tmp_path, fake) as w:
        for chat in range(1000, 1075):
            await queue(w.service, chat, f"notice for {chat}")
        sent = await fake.wait_for_sent(75, timeout=20)
        assert fake.too_many_requests == 0
        assert sorted(c.chat_id for c in sent) == list(range(1000, 1075))
        assert sent[-1].at - sent[0].at >= 1.9  # 75 at 30 per second span two more windows


async def test_polling_mode_fetches_stores_and_replies(tmp_path: Path) -> None:
    fake = FakeTelegram(TOKEN)
    async with telegram_world(tmp_path, fake, mode="polling", poll_timeout_seconds=1) as w:
        assert fake.requests_count["deleteWebhook"] == 1
        fake.push_update(fake.text_update(CHAT, "polled hello"))
        [sent] = await fake.wait_for_sent(1)
        assert sent.text == texts.render("texter.queued")
        # The webhook route is not open in polling mode.
        assert await post_update(w, fake.text_update(CHAT, "x")) == 404


async def send_one(world: World, out: Outbound) -> SentCall:
    """Queue ``out`` for the test chat as a handler would; the Bot API call it became."""
    async with world.service.store.tx() as conn:
        contact = await contacts_repo.get_or_create(conn, "telegram", str(CHAT))
        split = {"telegram": world.service.senders["telegram"].split}
        channels = await write(conn, split, contact, [out])
    world.service.outlet.notify(channels)  # once committed
    [sent] = await world.fake.wait_for_sent(1)
    return sent


async def test_files_go_as_documents_and_photos_with_a_caption(world: World) -> None:
    calendar = base64.b64encode(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n").decode()
    ics = {"document": {"filename": "appts.ics", "content_b64": calendar}}
    sent = await send_one(world, Outbound("Your appointments", meta=ics))
    assert sent.method == "sendDocument"
    assert sent.caption == "Your appointments"
    assert sent.document is not None and not isinstance(sent.document, str)
    assert (sent.document.filename, sent.document.size) == ("appts.ics", 32)


async def test_a_weekly_chart_is_drawn_as_it_is_sent(world: World) -> None:
    weeks = {"cravings": [None, 3.0, 2.5, None, 2.0, 1.5, 1.0, 2.0], "mood": [3.0] * 8}
    chart = {"chart": {"filename": "week.png", "weeks": weeks}}
    sent = await send_one(world, Outbound("Your week", meta=chart))
    assert (sent.method, sent.caption) == ("sendPhoto", "Your week")
    assert isinstance(sent.document, UploadedFile)
    assert sent.document.filename == "week.png"
    assert sent.document.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert sent.document.size > 2000  # a drawn chart, not an empty image
