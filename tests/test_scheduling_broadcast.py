"""A coordinator's broadcast to 2,000 people over the real Telegram and Twilio clients
(against the fakes), with opt-outs, unreachable numbers, send failures and delivery
callbacks mixed in: the delivery report must account for every recipient exactly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from bot.clock import utcnow
from bot.messages import Channel, InboundMessage
from bot.service import Service
from bot.store import contacts as contacts_repo
from bot.store.scheduler_tables import schedule_prefs
from bot.store.tables import contacts, outbox
from handlers.scheduling import handle_command
from handlers.turn import Turn
from scheduler import broadcasts
from tests.conftest import eventually, make_settings, running_service, serving
from tests.fakes.server import serve_app
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio, signed_webhook

TOKEN, SECRET = "123456:TEST-token_abc", "s3cret-token"
SID, AUTH, OURS = "AC" + "0" * 32, "twilio-auth-token", "+447700800000"
PUBLIC = "https://owl.example.org"
PER_CHANNEL = 1000
TEXT = "The Hub is closed on Monday. The evening meeting moves to St Mark's church hall."

CHATS = [50_000 + i for i in range(PER_CHANNEL)]
NUMBERS = [f"+4477009{i:05d}" for i in range(PER_CHANNEL)]
TG_OPTED_OUT, SMS_OPTED_OUT = set(CHATS[:40]), set(NUMBERS[:60])
SMS_UNREACHABLE = set(NUMBERS[60:70])
TG_BLOCKED = set(CHATS[40:65])  # Telegram answers 403: the send fails
SMS_BAD = NUMBERS[70:100]  # Twilio refuses: 21211 invalid number
DELIVERED, UNDELIVERED = NUMBERS[100:600], NUMBERS[600:620]  # delivery callbacks


@asynccontextmanager
async def world(
    tmp_path: Path,
) -> AsyncIterator[tuple[Service, httpx.AsyncClient, FakeTelegram, FakeTwilio]]:
    tg, tw = FakeTelegram(TOKEN), FakeTwilio(SID, AUTH)
    async with serve_app(tg.app) as tg_url, serve_app(tw.app) as tw_url:
        settings = make_settings(
            tmp_path,
            telegram={
                "token": TOKEN,
                "webhook_secret": SECRET,
                "api_base_url": tg_url,
                "messages_per_second": 2000,
            },
            sms={
                "account_sid": SID,
                "auth_token": AUTH,
                "from_number": OURS,
                "api_base_url": tw_url,
                "segments_per_second": 2000,
            },
            server={"public_url": PUBLIC},
            roles={"coordinators": ["sim:boss"]},
        )
        async with (
            serving(settings) as (client, service),
        ):
            yield service, client, tg, tw


async def add_subscribers(service: Service) -> None:
    now = datetime.now(UTC)
    people = [("telegram", str(c), c in TG_OPTED_OUT, False) for c in CHATS] + [
        ("sms", n, n in SMS_OPTED_OUT, n in SMS_UNREACHABLE) for n in NUMBERS
    ]
    async with service.store.tx() as conn:
        await conn.execute(
            insert(contacts),
            [
                {
                    "channel": channel,
                    "address": address,
                    "ref": f"T{i:05d}",
                    "opted_out": opted_out,
                    "unreachable": unreachable,
                    "created_at": now,
                    "updated_at": now,
                }
                for i, (channel, address, opted_out, unreachable) in enumerate(people)
            ],
        )
        ids = (await conn.execute(select(contacts.c.id).where(contacts.c.ref.like("T%")))).all()
        await conn.execute(
            insert(schedule_prefs),
            [
                {"contact_id": i, "notices": True, "weekly": True, "staff_appts": False}
                | {"updated_at": now}
                for (i,) in ids
            ],
        )


async def command(service: Service, address: str, text: str) -> list[str] | None:
    """What the scheduling commands answer ``text`` from sim user ``address``, as the
    router would call them (the router decides when they are reached)."""
    message = InboundMessage(channel=Channel.SIM, address=address, provider_id="x", text=text)
    async with service.store.tx() as conn:
        who = await contacts_repo.get_or_create(conn, "sim", address)
        turn = Turn(conn, who, message, service.settings, utcnow(), service.content)
        outs = await handle_command(turn)
    return None if outs is None else [o.text for o in outs]


async def answers(service: Service, address: str, text: str) -> list[str]:
    found = await command(service, address, text)
    assert found is not None, text
    return found


async def callback(client: httpx.AsyncClient, sid: str, status: str, code: str = "") -> None:
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": SID}
    if code:
        params["ErrorCode"] = code
    headers = signed_webhook(PUBLIC + "/sms/twilio/status", params, AUTH)
    response = await client.post("/sms/twilio/status", data=params, headers=headers)
    assert response.status_code == 204


async def test_broadcast_to_2000_with_an_exact_delivery_report(tmp_path: Path) -> None:
    async with world(tmp_path) as (service, client, tg, tw):
        await add_subscribers(service)
        for chat in TG_BLOCKED:
            tg.blocked_chats.add(chat)
        for number in SMS_BAD:
            tw.fail_next(to=number, code=21211)
        # Urgent: this runs at any hour, and quiet hours would hold a plain notice.
        [preview] = await answers(service, "boss", f"/broadcast all | now urgent | 12h | {TEXT}")
        assert preview.startswith("Notice #1 to all (urgent): sms 930, telegram 960.")
        assert "SMS: 1 segment(s) each, about £37.20." in preview
        assert await command(service, "boss", "/confirm 1") == ["Notice #1 will go now."]

        telegram_ok = PER_CHANNEL - len(TG_OPTED_OUT) - len(TG_BLOCKED)
        sms_ok = PER_CHANNEL - len(SMS_OPTED_OUT) - len(SMS_UNREACHABLE) - len(SMS_BAD)
        await tg.wait_for_sent(telegram_ok, timeout=60)
        await tw.wait_for_messages(sms_ok, timeout=60)
        sids = {m.to: m.sid for m in tw.messages}
        for number in DELIVERED:
            await callback(client, sids[number], "delivered")
        for number in UNDELIVERED:
            await callback(client, sids[number], "undelivered", "30003")

        async def report() -> broadcasts.Report:
            async with service.store.read() as conn:
                return await broadcasts.report(conn, 1)

        final = await eventually(
            report, lambda r: r.pending == 0 and r.delivered == len(DELIVERED), timeout=30
        )
        assert final.total == 2 * PER_CHANNEL
        assert final.delivered == 500
        assert final.failed == len(TG_BLOCKED) + len(SMS_BAD) + len(UNDELIVERED)  # 75
        assert final.skipped == {"opted_out": 100, "unreachable": 10}
        assert final.sent == 2 * PER_CHANNEL - 500 - 75 - 110
        assert {m.body for m in tw.messages} == {TEXT}
        assert len(tg.sent) == telegram_ok  # nothing twice

        async with service.store.read() as conn:
            bulk = await conn.execute(select(outbox.c.priority).where(outbox.c.kind == "broadcast"))
            assert {p for (p,) in bulk} == {3}  # Priority.BULK
        [listing] = await answers(service, "boss", "/broadcasts")
        assert "#1 sending by " in listing
        assert "1315 sent, 500 delivered, 75 failed, 110 skipped, 0 waiting" in listing


async def test_only_coordinators_can_broadcast(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, roles={"coordinators": ["sim:boss"]})
    async with running_service(settings) as (_, service):
        for word in ("/broadcast all | now | 12h | hello", "/broadcasts", "/confirm 1"):
            assert await command(service, "someone", word) is None  # not theirs: not answered
        [preview] = await answers(service, "boss", "/broadcast all | now | 12h | hello")
        assert preview.startswith("Notice #1 to all: nobody yet.")
        assert await command(service, "boss", "/scrap 1") == ["Notice #1 is cancelled."]
        assert await command(service, "boss", "/confirm 1") == [
            "There's no notice #1 that can be changed."
        ]
        async with service.store.read() as conn:
            [only] = await broadcasts.recent(conn)
        assert (only.status, only.sender_ref) == ("cancelled", (await sender(service)).ref)


async def sender(service: Service) -> Any:
    async with service.store.read() as conn:
        found = await contacts_repo.find(conn, "sim", "boss")
    assert found is not None
    return found
