"""The fakes, driven over real HTTP on 127.0.0.1 by the real PTB and twilio clients."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes, filters
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.server import serve_app
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio, inbound_sms_params, signed_webhook

TOKEN = "123456:TEST-token_abc"
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "test-auth-token"
SENDER = "+447700900001"
USER_NUMBER = "+447700900123"

KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("Talk now", callback_data="talk")],
        [InlineKeyboardButton("Later", callback_data="later")],
    ]
)


@asynccontextmanager
async def running_bot(fake: FakeTelegram, token: str = TOKEN) -> AsyncIterator[Bot]:
    async with serve_app(fake.app) as base_url, Bot(token, base_url=f"{base_url}/bot") as bot:
        yield bot


@asynccontextmanager
async def twilio_client(base_url: str, auth_token: str = AUTH_TOKEN) -> AsyncIterator[Client]:
    # aiohttp wants its ClientSession created inside the running loop.
    http_client = AsyncTwilioHttpClient()
    client = Client(ACCOUNT_SID, auth_token, http_client=http_client)
    client.api.base_url = base_url
    try:
        yield client
    finally:
        await http_client.close()


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB's timedelta durations (RetryAfter.retry_after) to avoid its deprecation."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def fake_tg() -> FakeTelegram:
    return FakeTelegram(TOKEN)


@pytest.fixture
async def tg_url(fake_tg: FakeTelegram) -> AsyncIterator[str]:
    async with serve_app(fake_tg.app) as base_url:
        yield base_url


@pytest.fixture
async def bot(tg_url: str) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=f"{tg_url}/bot") as bot:
        yield bot


@pytest.fixture
def fake_twilio() -> FakeTwilio:
    return FakeTwilio(ACCOUNT_SID, AUTH_TOKEN)


@pytest.fixture
async def twilio_url(fake_twilio: FakeTwilio) -> AsyncIterator[str]:
    async with serve_app(fake_twilio.app) as base_url:
        yield base_url


@pytest.fixture
async def twilio(twilio_url: str) -> AsyncIterator[Client]:
    async with twilio_client(twilio_url) as client:
        yield client


# --------------------------------------------------------------------------- serve_app


async def test_serve_app_serves_then_releases_the_port() -> None:
    app = Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])
    async with serve_app(app) as base_url, httpx.AsyncClient(trust_env=False) as client:
        assert base_url.startswith("http://127.0.0.1:")
        assert (await client.get(f"{base_url}/ping")).text == "pong"
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{base_url}/ping")


async def test_serve_app_reports_a_failing_lifespan() -> None:
    @asynccontextmanager
    async def broken_lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("database unreachable")
        yield

    with pytest.raises(RuntimeError, match="failed to start"):
        async with serve_app(Starlette(lifespan=broken_lifespan)):
            pytest.fail("the body must not run")


# --------------------------------------------------------------------------- Telegram


async def test_initialize_calls_get_me(fake_tg: FakeTelegram, bot: Bot) -> None:
    assert bot.username == "night_owl_test_bot"
    assert bot.id == 123456
    assert fake_tg.requests_count["getMe"] == 1


async def test_wrong_token_and_unknown_method_use_telegram_error_shape(
    fake_tg: FakeTelegram, tg_url: str
) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:wrong", base_url=f"{tg_url}/bot"):  # shuts down its client on error
            pytest.fail("initialize must fail")
    async with httpx.AsyncClient(trust_env=False) as client:
        unauthorized = await client.post(f"{tg_url}/bot999:wrong/getMe")
        unknown = await client.post(f"{tg_url}/bot{TOKEN}/sendTelepathy")
    assert unauthorized.status_code == 401
    assert unauthorized.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert unknown.status_code == 404
    assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_send_message_echoes_inline_keyboard(fake_tg: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(42, "You're not alone tonight.", reply_markup=KEYBOARD)
    second = await bot.send_message(42, "Still here.")

    assert second.message_id == first.message_id + 1
    assert first.chat.id == 42 and first.chat.type == "private"
    assert first.from_user is not None and first.from_user.id == bot.id
    assert first.text == "You're not alone tonight."
    assert first.reply_markup == KEYBOARD
    assert first.date.tzinfo is not None
    assert [(c.method, c.chat_id, c.text) for c in fake_tg.sent] == [
        ("sendMessage", 42, "You're not alone tonight."),
        ("sendMessage", 42, "Still here."),
    ]
    assert fake_tg.sent[0].reply_markup == KEYBOARD.to_dict()
    assert fake_tg.sent[1].reply_markup is None
    assert fake_tg.sent_to(42) == fake_tg.sent


async def test_send_message_rejects_empty_and_overlong_text(bot: Bot) -> None:
    with pytest.raises(BadRequest, match="Message text is empty"):
        await bot.send_message(42, "")
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(42, "x" * 4097)


async def test_send_document_records_the_upload_byte_for_byte(
    fake_tg: FakeTelegram, bot: Bot
) -> None:
    content = bytes(range(256)) + b"\r\n--tricky\r\n\r\n" + "naïve,ünïcode\n".encode()
    message = await bot.send_document(
        42, InputFile(content, filename="night-log.csv"), caption="Your log 🦉"
    )

    call = fake_tg.sent[0]
    assert call.method == "sendDocument"
    assert call.caption == "Your log 🦉"
    assert not isinstance(call.document, str) and call.document is not None
    assert call.document.filename == "night-log.csv"
    assert call.document.size == len(content)
    assert call.document.content == content
    assert message.document is not None
    assert message.document.file_name == "night-log.csv"
    assert message.document.file_size == len(content)
    assert message.caption == "Your log 🦉"


async def test_send_photo_and_location(fake_tg: FakeTelegram, bot: Bot) -> None:
    photo = await bot.send_photo(42, b"\x89PNG fake image bytes", caption="map")
    location = await bot.send_location(42, latitude=51.5072, longitude=-0.1276)

    assert photo.photo[-1].file_size == len(b"\x89PNG fake image bytes")
    assert location.location is not None
    assert location.location.latitude == pytest.approx(51.5072)
    assert [c.method for c in fake_tg.sent] == ["sendPhoto", "sendLocation"]
    assert fake_tg.sent[0].document is not None and fake_tg.sent[0].caption == "map"
    assert fake_tg.sent[1].params["longitude"] == "-0.1276"


async def test_get_updates_offset_confirms_updates(fake_tg: FakeTelegram, bot: Bot) -> None:
    first = fake_tg.push_update(fake_tg.text_update(7, "hello"))
    second = fake_tg.push_update({"message": fake_tg.text_update(7, "again")["message"]})
    assert second["update_id"] > first["update_id"]

    unconfirmed = await bot.get_updates()
    assert [u.update_id for u in unconfirmed] == [first["update_id"], second["update_id"]]
    assert len(await bot.get_updates()) == 2  # nothing is confirmed without an offset

    remaining = await bot.get_updates(offset=second["update_id"])
    assert [u.effective_message.text for u in remaining if u.effective_message] == ["again"]
    assert await bot.get_updates(offset=second["update_id"] + 1) == ()
    assert (await bot.get_webhook_info()).pending_update_count == 0


async def test_get_updates_limit_and_allowed_updates(fake_tg: FakeTelegram, bot: Bot) -> None:
    fake_tg.push_update(fake_tg.text_update(7, "one"))
    fake_tg.push_update(fake_tg.text_update(7, "two"))
    callback = fake_tg.push_update(fake_tg.callback_update(7, "talk", message_id=1))

    assert len(await bot.get_updates(limit=1)) == 1
    only_callbacks = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.update_id for u in only_callbacks] == [callback["update_id"]]


async def test_get_updates_long_poll_wakes_on_push(fake_tg: FakeTelegram, bot: Bot) -> None:
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=dtm.timedelta(seconds=20)))
    await fake_tg.wait_for_requests("getUpdates", 1)
    assert not poll.done()

    pushed = fake_tg.push_update(fake_tg.text_update(7, "are you there?"))
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [pushed["update_id"]]
    assert time.monotonic() - started < 10


async def test_get_updates_long_poll_times_out_empty(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert time.monotonic() - started >= 0.25


async def test_update_builders_parse_with_ptb(fake_tg: FakeTelegram) -> None:
    command = Update.de_json(fake_tg.text_update(7, "/start hello"), bot=None)
    text = Update.de_json(fake_tg.text_update(7, "hi", first_name="Sam", username=None), None)
    callback = Update.de_json(fake_tg.callback_update(7, "talk", message_id=99), bot=None)
    location = Update.de_json(fake_tg.location_update(7, 51.5, -0.12), bot=None)
    blocked = Update.de_json(fake_tg.my_chat_member_update(7, "kicked"), bot=None)
    unblocked = Update.de_json(fake_tg.my_chat_member_update(7, "member"), bot=None)

    assert command.message is not None and command.message.text == "/start hello"
    assert filters.COMMAND.check_update(command)
    assert text.effective_user is not None and text.effective_user.first_name == "Sam"
    assert text.effective_user.username is None
    assert not filters.COMMAND.check_update(text)
    assert callback.callback_query is not None and callback.callback_query.data == "talk"
    assert callback.effective_chat is not None and callback.effective_chat.id == 7
    assert callback.callback_query.message is not None
    assert callback.callback_query.message.message_id == 99
    assert location.message is not None and location.message.location is not None
    assert location.message.location.longitude == pytest.approx(-0.12)
    assert blocked.my_chat_member is not None and unblocked.my_chat_member is not None
    assert blocked.my_chat_member.new_chat_member.status == "kicked"
    assert blocked.my_chat_member.old_chat_member.status == "member"
    assert unblocked.my_chat_member.new_chat_member.status == "member"
    assert blocked.effective_user is not None and blocked.effective_user.id == 7
    ids = [u.update_id for u in (command, text, callback, location, blocked, unblocked)]
    assert ids == sorted(set(ids))


async def test_callback_answer_and_keyboard_edit(fake_tg: FakeTelegram, bot: Bot) -> None:
    sent = await bot.send_message(42, "Shall we talk?", reply_markup=KEYBOARD)
    press = Update.de_json(fake_tg.callback_update(42, "talk", sent.message_id), bot=None)
    assert press.callback_query is not None
    assert isinstance(press.callback_query.message, Message)
    assert press.callback_query.message.reply_markup == KEYBOARD  # the message the bot sent

    assert await bot.answer_callback_query(press.callback_query.id, text="Connecting…")
    edited = await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
    assert not isinstance(edited, bool) and edited.reply_markup is None
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_reply_markup(42, 9999, reply_markup=None)

    answer, edit = fake_tg.sent[1:]
    assert (answer.method, answer.chat_id, answer.text) == (
        "answerCallbackQuery",
        42,
        "Connecting…",
    )
    assert (edit.method, edit.message_id, edit.reply_markup) == (
        "editMessageReplyMarkup",
        sent.message_id,
        None,
    )


async def test_webhook_set_info_conflict_delete(fake_tg: FakeTelegram, bot: Bot) -> None:
    assert await bot.set_webhook(
        "https://owl.example/telegram",
        secret_token="s3cret-token_1",
        allowed_updates=["message", "callback_query", "my_chat_member"],
    )
    assert fake_tg.webhook is not None
    assert fake_tg.webhook.url == "https://owl.example/telegram"
    assert fake_tg.webhook.secret_token == "s3cret-token_1"
    assert fake_tg.webhook.allowed_updates == ["message", "callback_query", "my_chat_member"]
    info = await bot.get_webhook_info()
    assert info.url == "https://owl.example/telegram"
    assert info.allowed_updates == ("message", "callback_query", "my_chat_member")
    with pytest.raises(Conflict):
        await bot.get_updates()
    with pytest.raises(BadRequest, match="Secret token contains unallowed"):
        await bot.set_webhook("https://owl.example/telegram", secret_token="no spaces!")

    assert await bot.delete_webhook()
    assert fake_tg.webhook is None
    assert (await bot.get_webhook_info()).url == ""


async def test_deliver_webhook_posts_update_with_secret(fake_tg: FakeTelegram, bot: Bot) -> None:
    received: list[tuple[dict[str, object], str | None]] = []

    async def webhook(request: Request) -> Response:
        received.append(
            (await request.json(), request.headers.get("x-telegram-bot-api-secret-token"))
        )
        return Response(status_code=200)

    receiver = Starlette(routes=[Route("/telegram", webhook, methods=["POST"])])
    async with serve_app(receiver) as receiver_url:
        await bot.set_webhook(f"{receiver_url}/telegram", secret_token="s3cret")
        status = await fake_tg.deliver_webhook(fake_tg.text_update(7, "hi"))

    assert status == 200
    [(update, secret)] = received
    assert secret == "s3cret"
    parsed = Update.de_json(update, bot=None)
    assert parsed.message is not None and parsed.message.text == "hi"


async def test_retry_after_surfaces_as_retry_after(fake_tg: FakeTelegram, bot: Bot) -> None:
    fake_tg.fail_next("sendMessage", retry_after=2)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(42, "first try")
    assert caught.value.retry_after == dtm.timedelta(seconds=2)
    assert fake_tg.too_many_requests == 1
    assert fake_tg.sent == []

    await bot.send_message(42, "second try")  # the failure was consumed
    assert [c.text for c in fake_tg.sent] == ["second try"]


async def test_queued_failures_match_chat_and_method(fake_tg: FakeTelegram, bot: Bot) -> None:
    fake_tg.fail_next(chat_id=2, error="bad_request")
    fake_tg.fail_next(method="sendDocument", error="server", status=502)
    fake_tg.fail_next(method=None, error="server")

    with pytest.raises(NetworkError, match="Internal Server Error"):
        await bot.get_webhook_info()  # method=None matches any method
    await bot.send_message(1, "not chat 2")
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(2, "to chat 2")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_document(1, b"data")
    await bot.send_message(2, "failures are used up")
    assert [c.chat_id for c in fake_tg.sent] == [1, 2]


async def test_blocked_chats_get_forbidden(fake_tg: FakeTelegram, bot: Bot) -> None:
    fake_tg.blocked_chats.add(42)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(42, "hello?")

    fake_tg.push_update(fake_tg.my_chat_member_update(42, "member"))
    await bot.send_message(42, "welcome back")
    fake_tg.push_update(fake_tg.my_chat_member_update(42, "kicked"))
    with pytest.raises(Forbidden):
        await bot.send_document(42, b"data")
    fake_tg.fail_next(error="blocked")
    with pytest.raises(Forbidden):
        await bot.send_message(7, "queued 403")

    assert [c.text for c in fake_tg.sent] == ["welcome back"]


async def test_global_rate_limit_returns_429s() -> None:
    fake = FakeTelegram(TOKEN, global_per_second=3)
    async with running_bot(fake) as bot:
        results = await asyncio.gather(
            *(bot.send_message(chat_id, "hi") for chat_id in range(1, 6)), return_exceptions=True
        )
    assert sum(isinstance(r, RetryAfter) for r in results) == 2
    assert fake.too_many_requests == 2
    assert len(fake.sent) == 3


async def test_per_chat_rate_limit_is_per_chat() -> None:
    fake = FakeTelegram(TOKEN, per_chat_per_second=1)
    async with running_bot(fake) as bot:
        await bot.send_message(1, "first")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "too soon")
        await bot.send_message(2, "other chat is fine")
    assert [c.chat_id for c in fake.sent] == [1, 2]
    assert fake.too_many_requests == 1


async def test_wait_for_sent(fake_tg: FakeTelegram, bot: Bot) -> None:
    sender = asyncio.create_task(bot.send_message(42, "eventually"))
    [call] = await fake_tg.wait_for_sent(1)
    assert call.text == "eventually"
    await sender
    with pytest.raises(TimeoutError, match="expected >= 2 sent calls"):
        await fake_tg.wait_for_sent(2, timeout=0.2)


async def test_application_polling_end_to_end(fake_tg: FakeTelegram) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_user is not None
        await update.effective_message.reply_text(f"Hello {update.effective_user.first_name}")

    async with serve_app(fake_tg.app) as base_url:
        application = Application.builder().token(TOKEN).base_url(f"{base_url}/bot").build()
        application.add_handler(CommandHandler("start", start))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling()  # PTB's default 10 s long poll
            fake_tg.push_update(fake_tg.text_update(7, "/start"))
            [reply] = await fake_tg.wait_for_sent(1)
            await application.updater.stop()
            await application.stop()
        async with Bot(TOKEN, base_url=f"{base_url}/bot") as probe:
            pending = (await probe.get_webhook_info()).pending_update_count
        stopped_at = time.monotonic()
    # The abandoned long poll ends when PTB hangs up, not after its 10 s timeout.
    assert time.monotonic() - stopped_at < 3

    assert (reply.chat_id, reply.text) == (7, "Hello Alex")
    assert fake_tg.requests_count["deleteWebhook"] == 1
    assert pending == 0  # the updater confirmed "/start" with its final offset


# --------------------------------------------------------------------------- Twilio


async def test_create_and_fetch_round_trip(fake_twilio: FakeTwilio, twilio: Client) -> None:
    created = await twilio.messages.create_async(
        to=USER_NUMBER,
        from_=SENDER,
        body="Night Owl: a volunteer will text you shortly.",
        status_callback="https://owl.example/sms/status",
        validity_period=600,
    )
    assert created.sid is not None and created.sid.startswith("SM") and len(created.sid) == 34
    assert created.status == "queued"
    assert created.num_segments == "1"
    assert created.account_sid == ACCOUNT_SID
    assert created.price is None and created.error_code is None
    assert isinstance(created.date_created, dtm.datetime)

    fetched = await twilio.messages(created.sid).fetch_async()
    assert (fetched.sid, fetched.to, fetched.from_, fetched.body) == (
        created.sid,
        USER_NUMBER,
        SENDER,
        "Night Owl: a volunteer will text you shortly.",
    )

    [record] = fake_twilio.messages
    assert record.sid == created.sid
    assert record.status_callback == "https://owl.example/sms/status"
    assert record.validity_period == 600
    assert record.segments == 1


async def test_segments_follow_gsm7_and_ucs2_rules(fake_twilio: FakeTwilio, twilio: Client) -> None:
    gsm = await twilio.messages.create_async(to=USER_NUMBER, from_=SENDER, body="a" * 161)
    ucs2 = await twilio.messages.create_async(to=USER_NUMBER, from_=SENDER, body="🦉" * 36)
    assert (gsm.num_segments, ucs2.num_segments) == ("2", "2")
    assert [m.segments for m in fake_twilio.messages] == [2, 2]


async def test_messaging_service_messages_are_accepted(twilio: Client) -> None:
    message = await twilio.messages.create_async(
        to=USER_NUMBER, messaging_service_sid="MG" + "2" * 32, body="hi"
    )
    assert message.status == "accepted"
    assert message.from_ is None


async def test_missing_fields_are_rejected(fake_twilio: FakeTwilio, twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as no_body:
        await twilio.messages.create_async(to=USER_NUMBER, from_=SENDER)
    with pytest.raises(TwilioRestException) as no_to:
        await twilio.messages.create_async(to="", from_=SENDER, body="hi")
    assert (no_body.value.status, no_body.value.code) == (400, 21602)
    assert (no_to.value.status, no_to.value.code) == (400, 21604)
    assert fake_twilio.messages == []


async def test_unsubscribed_recipient_raises_21610(fake_twilio: FakeTwilio, twilio: Client) -> None:
    fake_twilio.fail_next(to=USER_NUMBER)
    await twilio.messages.create_async(to="+447700900999", from_=SENDER, body="other number")
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(to=USER_NUMBER, from_=SENDER, body="hello")
    assert caught.value.code == 21610
    assert caught.value.status == 400
    assert "unsubscribed" in caught.value.msg
    await twilio.messages.create_async(to=USER_NUMBER, from_=SENDER, body="failure consumed")
    assert [m.body for m in fake_twilio.messages] == ["other number", "failure consumed"]


@pytest.mark.parametrize(
    ("code", "status"), [(21211, 400), (21614, 400), (20429, 429), (20500, 500)]
)
async def test_injected_errors_keep_code_and_status(
    fake_twilio: FakeTwilio, twilio: Client, code: int, status: int
) -> None:
    fake_twilio.fail_next(code=code)
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages.create_async(to=USER_NUMBER, from_=SENDER, body="hi")
    assert (caught.value.code, caught.value.status) == (code, status)


async def test_wrong_auth_is_401(twilio_url: str) -> None:
    async with twilio_client(twilio_url, auth_token="wrong") as client:
        with pytest.raises(TwilioRestException) as caught:
            await client.messages.create_async(to=USER_NUMBER, from_=SENDER, body="hi")
    assert (caught.value.status, caught.value.code) == (401, 20003)


async def test_fetch_unknown_message_is_404(twilio: Client) -> None:
    with pytest.raises(TwilioRestException) as caught:
        await twilio.messages("SM" + "f" * 32).fetch_async()
    assert (caught.value.status, caught.value.code) == (404, 20404)


async def test_rate_violations_counted_per_sender() -> None:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN, segments_per_second_per_sender=2)
    async with serve_app(fake.app) as base_url, twilio_client(base_url) as client:
        await client.messages.create_async(to=USER_NUMBER, from_=SENDER, body="a" * 200)
        await client.messages.create_async(to=USER_NUMBER, from_="+447700900002", body="b")
        assert fake.rate_violations == 0
        await client.messages.create_async(to=USER_NUMBER, from_=SENDER, body="c")
    assert fake.rate_violations == 1
    assert len(fake.messages) == 3  # violations are counted, never rejected


async def test_wait_for_messages(fake_twilio: FakeTwilio, twilio: Client) -> None:
    sender = asyncio.create_task(
        twilio.messages.create_async(to=USER_NUMBER, from_=SENDER, body="soon")
    )
    [message] = await fake_twilio.wait_for_messages(1)
    assert message.body == "soon"
    await sender
    with pytest.raises(TimeoutError, match="expected >= 2 messages"):
        await fake_twilio.wait_for_messages(2, timeout=0.2)


def test_signed_webhook_validates() -> None:
    url = "https://owl.example/sms/inbound?channel=sms"
    params = inbound_sms_params(USER_NUMBER, SENDER, "I can't sleep", account_sid=ACCOUNT_SID)
    headers = signed_webhook(url, params, AUTH_TOKEN)
    validator = RequestValidator(AUTH_TOKEN)

    assert validator.validate(url, params, headers["X-Twilio-Signature"])
    assert not validator.validate(
        url, {**params, "Body": "tampered"}, headers["X-Twilio-Signature"]
    )
    assert not RequestValidator("other").validate(url, params, headers["X-Twilio-Signature"])
    assert params["MessageSid"] == params["SmsSid"] == params["SmsMessageSid"]
    assert params["MessageSid"].startswith("SM") and len(params["MessageSid"]) == 34
    assert (params["FromCountry"], params["NumSegments"], params["NumMedia"]) == ("GB", "1", "0")
    assert params["AccountSid"] == ACCOUNT_SID


async def test_deliver_posts_a_signed_status_callback(
    fake_twilio: FakeTwilio, twilio: Client
) -> None:
    callbacks: list[tuple[bool, dict[str, str]]] = []

    async def status_callback(request: Request) -> Response:
        form = dict(httpx.QueryParams((await request.body()).decode()))
        valid = RequestValidator(AUTH_TOKEN).validate(
            str(request.url), form, request.headers.get("x-twilio-signature", "")
        )
        callbacks.append((valid, form))
        return Response(status_code=204 if valid else 403)

    receiver = Starlette(routes=[Route("/sms/status", status_callback, methods=["POST"])])
    async with serve_app(receiver) as receiver_url:
        message = await twilio.messages.create_async(
            to=USER_NUMBER, from_=SENDER, body="hi", status_callback=f"{receiver_url}/sms/status"
        )
        assert message.sid is not None
        assert await fake_twilio.deliver(message.sid) == 204
        assert await fake_twilio.deliver(message.sid, "undelivered", error_code=30003) == 204

    (valid, delivered), (valid_again, undelivered) = callbacks
    assert valid and valid_again
    assert delivered["MessageStatus"] == "delivered" and "ErrorCode" not in delivered
    assert (delivered["MessageSid"], delivered["AccountSid"]) == (message.sid, ACCOUNT_SID)
    assert (delivered["To"], delivered["From"]) == (USER_NUMBER, SENDER)
    assert (undelivered["MessageStatus"], undelivered["ErrorCode"]) == ("undelivered", "30003")
    fetched = await twilio.messages(message.sid).fetch_async()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)
