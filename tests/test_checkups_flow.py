"""Check-ups end to end: by SMS through the simulator (real inbox, router, scheduler
sweeps and dispatcher), and on Telegram with buttons through the real
python-telegram-bot client against the fake Bot API."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, update

from bot.clock import utcnow
from bot.service import Service
from bot.store import contacts as contacts_repo
from bot.store.scheduler_tables import checkups, scheduled
from content import texts
from scheduler import recovery_capital as rc
from tests.buddy_world import buddy_world
from tests.conftest import eventually
from tests.fakes.telegram_api import SentCall
from tests.test_checkups import statement
from tests.test_telegram import CHAT, post_update, telegram_world


async def bring_statements_forward(service: Service) -> None:
    """Make the pending check-up row due now; the running due sweep sends it."""
    async with service.store.tx() as conn:
        result = await conn.execute(
            update(scheduled)
            .where(scheduled.c.kind == "barc", scheduled.c.status == "pending")
            .values(due_at=utcnow() - timedelta(seconds=1))
        )
    assert result.rowcount == 1


async def answers(service: Service, channel: str, address: str) -> dict[int, int]:
    async with service.store.read() as conn:
        who = await contacts_repo.find(conn, channel, address)
        assert who is not None
        checkup = await rc.open_checkup(conn, who.id)
    return checkup.answers if checkup else {}


async def test_sms_statements_are_answered_and_a_crisis_reply_still_reaches_a_buddy(
    tmp_path: Path,
) -> None:
    async with buddy_world(tmp_path) as world:
        sam = await world.enrol("buddy-sam", "Sam")
        await sam.say("on")
        texter = world.phone("texter-barc")
        await texter.say("QUIET OFF")  # the statement comes now, whatever the hour
        assert await texter.say("CHECKUP ON") == [texts.render("checkup.on", time="09:00")]

        await bring_statements_forward(world.service)
        assert await texter.expect(timeout=15) == [statement(1)]
        assert await texter.say("5") == [texts.render("checkup.saved", answered=1)]
        assert await texter.say("CHECKUP") == [
            texts.render("checkup.status_waiting", time="09:00", answered=1)
        ]

        await bring_statements_forward(world.service)
        assert await texter.expect(timeout=15) == [statement(2)]
        [first] = await texter.say("I want to die")
        assert first == texts.render("texter.urgent")
        [alert] = await sam.expect()
        assert alert.startswith("URGENT: Owl-") and "(suicide)" in alert
        await world.idle()
        # Not an answer: statement 2 is still open, and the buddy saw no statement.
        assert await answers(world.service, "sim", "texter-barc") == {1: 5}
        assert not any("Check-up" in m for m in sam.received)


async def test_telegram_sends_all_ten_with_buttons_and_a_tenth_press_gives_the_trend(
    tmp_path: Path,
) -> None:
    async with telegram_world(tmp_path, per_chat_per_second=1000) as world:
        fake = world.fake

        def messages() -> list[SentCall]:
            return [c for c in fake.sent if c.method == "sendMessage"]

        async def press(message: SentCall, value: int) -> None:
            assert message.reply_markup is not None
            button = message.reply_markup["inline_keyboard"][0][value - 1]
            update = fake.callback_update(CHAT, button["callback_data"], message.message_id or 0)
            assert await post_update(world, update) == 200

        await post_update(world, fake.text_update(CHAT, "QUIET OFF"))
        await post_update(world, fake.text_update(CHAT, "/checkup on"))
        await fake.wait_for_sent(2)
        assert messages()[1].text == texts.render("checkup.on_telegram", time="09:00")
        async with world.service.store.tx() as conn:
            who = await contacts_repo.find(conn, "telegram", str(CHAT))
            assert who is not None
            earlier = utcnow() - timedelta(days=8)
            await conn.execute(
                insert(checkups).values(
                    contact_id=who.id, started_at=earlier, completed_at=earlier, score=30
                )
            )

        await bring_statements_forward(world.service)
        await fake.wait_for_sent(13, timeout=15)
        intro, *ten = messages()[2:]
        assert intro.text == texts.render("checkup.intro")
        assert [m.text for m in ten] == [
            texts.render("checkup.statement_telegram", number=n, statement=rc.statement(n))
            for n in rc.ITEMS
        ]
        for m in ten:
            assert m.reply_markup is not None
            [row] = m.reply_markup["inline_keyboard"]
            assert [b["text"] for b in row] == ["1", "2", "3", "4", "5", "6"]

        await press(ten[0], 2)
        await press(ten[0], 4)  # a change of mind, before the end
        for m in ten[1:]:
            await press(m, 4)
        await fake.wait_for_requests("editMessageReplyMarkup", 11)
        done = texts.render("checkup.done", result="up from 30 to 40 (out of 60)")

        async def last_text() -> str | None:
            return messages()[-1].text

        assert await eventually(last_text, lambda t: t == done) == done
        edits = [c for c in fake.sent if c.method == "editMessageReplyMarkup"]
        first_edits = [e for e in edits if e.message_id == ten[0].message_id]
        assert [
            [b["text"] for b in e.reply_markup["inline_keyboard"][0]]
            for e in first_edits
            if e.reply_markup
        ] == [["1", "2 ✓", "3", "4", "5", "6"], ["1", "2", "3", "4 ✓", "5", "6"]]
        assert fake.requests_count["answerCallbackQuery"] == 11  # every spinner stopped

        await press(ten[3], 6)  # after the end
        closed = texts.render("checkup.closed")
        assert await eventually(last_text, lambda t: t == closed) == closed
