"""A buddy conversation across the real channel clients: the texter on SMS (twilio
against the fake REST API), the buddy on Telegram (python-telegram-bot against the fake
Bot API), with the Take button and Telegram reply threads."""

from __future__ import annotations

import re
from pathlib import Path

from content import texts
from tests.conftest import make_settings, serving
from tests.fakes.server import serve_app
from tests.fakes.telegram_api import FakeTelegram, SentCall
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, signed_webhook
from tests.test_sms import AUTH, OURS, PUBLIC, SID
from tests.test_telegram import HEADERS, SECRET, TOKEN

TEXTER = "+447700900555"
BUDDY_CHAT = 9001
COORD_CHAT = 9002


async def test_sms_texter_and_telegram_buddy(tmp_path: Path) -> None:
    tg, sms = FakeTelegram(TOKEN), FakeTwilio(SID, AUTH)
    async with serve_app(tg.app) as tg_url, serve_app(sms.app) as sms_url:
        settings = make_settings(
            tmp_path,
            telegram={"token": TOKEN, "webhook_secret": SECRET, "api_base_url": tg_url},
            sms={
                "account_sid": SID,
                "auth_token": AUTH,
                "from_number": OURS,
                "api_base_url": sms_url,
            },
            server={"public_url": PUBLIC},
            roles={
                "coordinators": [f"telegram:{COORD_CHAT}"],
                "on_call": [f"telegram:{COORD_CHAT}"],
            },
        )
        async with (
            serving(settings) as (client, _),
        ):

            async def telegram(update: dict[str, object]) -> None:
                response = await client.post("/telegram/webhook", json=update, headers=HEADERS)
                assert response.status_code == 200

            def messages() -> list[SentCall]:
                return [c for c in tg.sent if c.method == "sendMessage"]

            async def text_in(body: str) -> None:
                params = inbound_sms_params(TEXTER, OURS, body, account_sid=SID)
                headers = signed_webhook(PUBLIC + "/sms/twilio", params, AUTH)
                assert (
                    await client.post("/sms/twilio", data=params, headers=headers)
                ).status_code == 200

            # The coordinator invites; the buddy joins and goes on duty, all on Telegram.
            await telegram(tg.text_update(COORD_CHAT, "/invite", username="coord_user"))
            [invite] = await tg.wait_for_sent(1)
            code = re.search(r"JOIN (\w+)", invite.text or "")
            assert code
            await telegram(
                tg.text_update(BUDDY_CHAT, f"/join {code.group(1)} Sam", username="sam_user")
            )
            await telegram(tg.text_update(BUDDY_CHAT, "/on", username="sam_user"))
            await tg.wait_for_sent(3)

            # The texter writes by SMS; the buddy's alert carries a Take button.
            await text_in("hi, rough night")
            [queued] = await sms.wait_for_messages(1)
            assert queued.body == texts.render("texter.queued")
            sent = await tg.wait_for_sent(4)
            alert = sent[3]
            assert alert.chat_id == BUDDY_CHAT and alert.reply_markup is not None
            take = alert.reply_markup["inline_keyboard"][0][0]["callback_data"]
            await telegram(tg.callback_update(BUDDY_CHAT, take, alert.message_id))
            await tg.wait_for_requests("answerCallbackQuery")  # the button stops spinning
            await tg.wait_for_sent(7)  # with the answerCallbackQuery
            intro, backlog = messages()[4:6]
            label = re.search(r"Owl-\w\w", intro.text or "")
            assert label and backlog.text == f"{label.group(0)}: hi, rough night"
            claimed = (await sms.wait_for_messages(2))[1]
            assert claimed.body == texts.render("texter.claimed", handle="Sam")

            # The buddy replies in the thread of the texter's message.
            reply = tg.text_update(BUDDY_CHAT, "I'm here. What's happening?", username="sam_user")
            reply["message"]["reply_to_message"] = {
                "message_id": backlog.message_id,
                "date": 0,
                "chat": {"id": BUDDY_CHAT, "type": "private"},
            }
            await telegram(reply)
            relayed = (await sms.wait_for_messages(3))[2]
            assert relayed.body == "Sam (peer buddy): I'm here. What's happening?"
            await text_in("thanks")
            await tg.wait_for_sent(8)
            to_buddy = messages()[-1]
            assert to_buddy.text == f"{label.group(0)}: thanks"
            # Neither side ever saw the other's number, name or username.
            for message in tg.sent:
                assert TEXTER not in (message.text or "") and "7700900555" not in (
                    message.text or ""
                )
            for message in sms.messages:
                assert "sam_user" not in message.body and str(BUDDY_CHAT) not in message.body
