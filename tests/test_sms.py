"""SMS end to end: Twilio webhooks signed with twilio's RequestValidator, and the real
twilio client (AsyncTwilioHttpClient) against a fake Twilio REST API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bot.messages import Outbound
from bot.outgoing import write
from bot.segments import count_segments
from bot.service import Service
from bot.store import contacts as contacts_repo
from bot.store.contacts import Contact
from bot.store.tables import inbox, outbox
from content import texts
from tests.conftest import count_rows, eventually, make_settings, serving
from tests.fakes.server import serve_app
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, signed_webhook

SID = "AC" + "0" * 32
AUTH = "twilio-auth-token"
OURS = "+447700900000"
PERSON = "+447700900123"
PUBLIC = "https://owl.example.org"


@dataclass
class World:
    fake: FakeTwilio
    client: httpx.AsyncClient
    service: Service


@asynccontextmanager
async def sms_world(
    tmp_path: Path, fake: FakeTwilio | None = None, **sms: Any
) -> AsyncIterator[World]:
    fake = fake or FakeTwilio(SID, AUTH)
    async with serve_app(fake.app) as fake_url:
        settings = make_settings(
            tmp_path,
            sms={
                "account_sid": SID,
                "auth_token": AUTH,
                "from_number": OURS,
                "api_base_url": fake_url,
                **sms,
            },
            server={"public_url": PUBLIC},
        )
        async with (
            serving(settings) as (client, service),
        ):
            yield World(fake, client, service)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with sms_world(tmp_path) as w:
        yield w


async def post_sms(
    world: World, params: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    if headers is None:
        headers = signed_webhook(PUBLIC + "/sms/twilio", params, AUTH)
    return await world.client.post("/sms/twilio", data=params, headers=headers)


async def contact(world: World, address: str = PERSON) -> Contact | None:
    async with world.service.store.read() as conn:
        return await contacts_repo.find(conn, "sms", address)


async def test_signed_message_is_stored_once_and_answered_through_the_rest_api(
    world: World,
) -> None:
    params = inbound_sms_params(PERSON, OURS, "hello owl", account_sid=SID)
    first = await post_sms(world, params)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/xml")
    assert first.text == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert (await post_sms(world, params)).status_code == 200  # Twilio retrying
    [sent] = await world.fake.wait_for_messages(1)
    assert (sent.to, sent.from_) == (PERSON, OURS)
    assert sent.body == texts.render("texter.queued")
    assert sent.status_callback == PUBLIC + "/sms/twilio/status"
    assert sent.validity_period == 3600
    assert await count_rows(world.service, inbox) == 1
    await eventually(
        lambda: count_rows(world.service, outbox, outbox.c.status == "pending"), lambda n: n == 0
    )
    assert len(world.fake.messages) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": "not-a-signature"},
        # Signed for another URL: a replay against this endpoint.
        "other-url",
        # Signed with another account's token.
        "other-token",
    ],
)
async def test_bad_or_missing_signature_is_403_and_stores_nothing(
    world: World, headers: Any
) -> None:
    params = inbound_sms_params(PERSON, OURS, "hi", account_sid=SID)
    if headers == "other-url":
        headers = signed_webhook(PUBLIC + "/elsewhere", params, AUTH)
    elif headers == "other-token":
        headers = signed_webhook(PUBLIC + "/sms/twilio", params, "someone-else")
    response = await post_sms(world, params, headers)
    assert response.status_code == 403
    assert await count_rows(world.service, inbox) == 0


async def test_a_tampered_body_fails_the_signature(world: World) -> None:
    params = inbound_sms_params(PERSON, OURS, "hi", account_sid=SID)
    headers = signed_webhook(PUBLIC + "/sms/twilio", params, AUTH)
    params["Body"] = "something else"
    assert (await post_sms(world, params, headers)).status_code == 403


@pytest.mark.parametrize("drop", ["From", "MessageSid"])
async def test_signed_but_incomplete_forms_are_400(world: World, drop: str) -> None:
    params = inbound_sms_params(PERSON, OURS, "hi", account_sid=SID)
    params.pop(drop)
    if drop == "MessageSid":
        params.pop("SmsSid")
    response = await post_sms(world, params)
    assert response.status_code == 400
    assert await count_rows(world.service, inbox) == 0


async def test_non_utf8_body_is_400(world: World) -> None:
    response = await world.client.post(
        "/sms/twilio",
        content=b"Body=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400


@pytest.mark.parametrize("word", ["stop", " Stop ", "STOPALL", "cancel", "revoke"])
async def test_stop_by_sms_opts_out_and_only_the_confirmation_is_sent(
    world: World, word: str
) -> None:
    await post_sms(world, inbound_sms_params(PERSON, OURS, word, account_sid=SID))
    [confirm] = await world.fake.wait_for_messages(1)
    assert confirm.body == texts.render("compliance.stopped")
    await post_sms(world, inbound_sms_params(PERSON, OURS, "hello?", account_sid=SID))
    await eventually(
        lambda: count_rows(world.service, inbox, inbox.c.status == "pending"), lambda n: n == 0
    )
    assert len(world.fake.messages) == 1
    found = await contact(world)
    assert found is not None and found.opted_out


async def queue(world: World, *texts_: str, to: str = PERSON) -> None:
    service = world.service
    async with service.store.tx() as conn:
        person = await contacts_repo.get_or_create(conn, "sms", to)
        channels = await write(
            conn, {"sms": service.senders["sms"].split}, person, [Outbound(t) for t in texts_]
        )
    service.outlet.notify(channels)


async def outbox_row(world: World) -> Any:
    async with world.service.store.read() as conn:
        return (await conn.execute(select(outbox).order_by(outbox.c.id.desc()).limit(1))).first()


@pytest.mark.parametrize(
    ("code", "flag"),
    [(21610, "opted_out"), (21211, "unreachable"), (21614, "unreachable")],
)
async def test_permanent_twilio_errors_mark_the_contact(world: World, code: int, flag: str) -> None:
    world.fake.fail_next(to=PERSON, code=code)
    await queue(world, "checking in")
    row = await eventually(
        lambda: outbox_row(world), lambda r: r is not None and r.status == "failed"
    )
    assert row.error == f"twilio:{code}"
    found = await contact(world)
    assert found is not None and getattr(found, flag)
    assert world.fake.messages == []


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (429, 20429), (503, 20503)])
async def test_transient_twilio_errors_are_retried(world: World, status: int, code: int) -> None:
    world.fake.fail_next(to=PERSON, status=status, code=code)
    await queue(world, "still there?")
    [sent] = await world.fake.wait_for_messages(1)
    assert sent.body == "still there?"
    row = await eventually(lambda: outbox_row(world), lambda r: r.status == "sent")
    assert row.attempts == 2


async def test_status_callbacks_update_the_row_and_are_signed(world: World) -> None:
    await queue(world, "how are you doing?")
    [sent] = await world.fake.wait_for_messages(1)
    await eventually(lambda: outbox_row(world), lambda r: r.status == "sent")
    callback = {"MessageSid": sent.sid, "MessageStatus": "delivered", "AccountSid": SID}
    unsigned = await world.client.post("/sms/twilio/status", data=callback)
    assert unsigned.status_code == 403
    headers = signed_webhook(PUBLIC + "/sms/twilio/status", callback, AUTH)
    assert (
        await world.client.post("/sms/twilio/status", data=callback, headers=headers)
    ).status_code == 204
    row = await outbox_row(world)
    assert (row.status, row.provider_id) == ("delivered", sent.sid)
    # A late "sent" report does not undo "delivered".
    late = {**callback, "MessageStatus": "sent"}
    await world.client.post(
        "/sms/twilio/status",
        data=late,
        headers=signed_webhook(PUBLIC + "/sms/twilio/status", late, AUTH),
    )
    assert (await outbox_row(world)).status == "delivered"


async def test_undelivered_because_unsubscribed_opts_the_contact_out(world: World) -> None:
    await queue(world, "hello")
    [sent] = await world.fake.wait_for_messages(1)
    await eventually(lambda: outbox_row(world), lambda r: r.status == "sent")
    callback = {"MessageSid": sent.sid, "MessageStatus": "undelivered", "ErrorCode": "21610"}
    headers = signed_webhook(PUBLIC + "/sms/twilio/status", callback, AUTH)
    assert (
        await world.client.post("/sms/twilio/status", data=callback, headers=headers)
    ).status_code == 204
    assert (await outbox_row(world)).status == "failed"
    found = await contact(world)
    assert found is not None and found.opted_out


async def test_long_texts_split_by_segments_and_paced_per_sender(tmp_path: Path) -> None:
    fake = FakeTwilio(SID, AUTH, segments_per_second_per_sender=4)
    async with sms_world(tmp_path, fake, segments_per_second=4, max_segments_per_message=2) as w:
        text = " ".join(f"step{i}" for i in range(120))  # ~840 characters
        await queue(w, text)
        await queue(w, "short one", to="+447700900456")
        at_least = -(-len(text) // 306)  # 306 GSM-7 characters fit in two segments
        sent = await fake.wait_for_messages(at_least + 1, timeout=20)
        await eventually(
            lambda: fake.wait_for_messages(0),
            lambda ms: ms[-1].body.endswith("step119"),
            timeout=20,
        )
        long_parts = [m.body for m in fake.messages if m.to == PERSON]
        assert len(long_parts) >= at_least
        assert "short one" in [m.body for m in sent]
        assert all(count_segments(p) <= 2 for p in long_parts)
        assert " ".join(long_parts).split() == text.split()
        assert fake.rate_violations == 0
