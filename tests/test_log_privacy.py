"""Logs carry ids, never people: no phone number, Telegram name or message text in any line."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import LOG_CAPTURE, SimPhone, make_settings, serving
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, signed_webhook
from tests.test_sms import AUTH, OURS, PUBLIC, SID, sms_world
from tests.test_telegram import HEADERS, telegram_world

PHONE = "+447700900999"
SECRETS = [
    PHONE,
    "7700900999",
    "private words here",
    "zelda_secret_user",
    "Zelda",
    "telegram secret words",
    "sim secret words",
    "sim-person",
]

# Shapes that should never appear in a log line at all.
PHONE_SHAPE = re.compile(r"\+\d{10,15}")


def leaks(lines: list[str]) -> list[str]:
    return [line for line in lines if PHONE_SHAPE.search(line) or any(s in line for s in SECRETS)]


async def test_no_personal_data_in_logs_across_every_channel(tmp_path: Path) -> None:
    start = len(LOG_CAPTURE.lines)
    fake = FakeTwilio(SID, AUTH)
    fake.fail_next(to=PHONE, status=500, code=20500)  # a retry path logs too
    async with sms_world(tmp_path / "sms", fake) as world:
        params = inbound_sms_params(PHONE, OURS, "private words here", account_sid=SID)
        headers = signed_webhook(PUBLIC + "/sms/twilio", params, AUTH)
        assert (
            await world.client.post("/sms/twilio", data=params, headers=headers)
        ).status_code == 200
        await world.client.post("/sms/twilio", data=params, headers={})  # a rejected one
        await fake.wait_for_messages(1)
    async with telegram_world(tmp_path / "tg") as world:
        update = world.fake.text_update(
            777, "telegram secret words", first_name="Zelda", username="zelda_secret_user"
        )
        assert (
            await world.client.post("/telegram/webhook", json=update, headers=HEADERS)
        ).status_code == 200
        await world.fake.wait_for_sent(1)
    settings_dir = tmp_path / "sim"
    settings_dir.mkdir()
    async with (
        serving(make_settings(settings_dir)) as (client, _),
    ):
        phone = SimPhone(client, "sim-person")
        await phone.send("sim secret words")
        await phone.wait_for(1)
    lines = LOG_CAPTURE.lines[start:]
    assert any('"inbound stored"' in line or "inbound stored" in line for line in lines)
    assert leaks(lines) == []
