"""Telegram through python-telegram-bot: inbound normalising, webhook registration,
long polling, and the sender (30 msg/s overall, 1 msg/s per chat, RetryAfter honoured).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot import charts
from bot.config import Settings, TelegramConfig
from bot.messages import Channel, InboundKind, InboundMessage
from bot.ratelimit import KeyedSlidingWindow, SlidingWindow
from bot.segments import split_telegram
from bot.store.outbox import OutRow

from .base import PermanentSendError, RecordsSent, TransientSendError

log = logging.getLogger("nightowl.telegram")

# Opt in to what PTB 23 will do anyway (durations as timedelta) instead of a warning
# on every RetryAfter. PTB reads this when it builds such a value.
os.environ.setdefault("PTB_TIMEDELTA", "true")

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member"]


def make_bot(cfg: TelegramConfig, pool_size: int = 64) -> Bot:
    assert cfg.token is not None
    base = cfg.api_base_url.rstrip("/")
    return Bot(
        cfg.token.get_secret_value(),
        base_url=f"{base}/bot",
        base_file_url=f"{base}/file/bot",
        request=HTTPXRequest(connection_pool_size=pool_size, pool_timeout=10.0),
        get_updates_request=HTTPXRequest(read_timeout=cfg.poll_timeout_seconds + 10.0),
    )


def normalise(update: Update) -> InboundMessage | None:
    """An ``InboundMessage`` for what a person did in a private chat, else None."""
    provider_id = str(update.update_id)
    member = update.my_chat_member
    if member is not None:
        if member.chat.type != "private" or member.new_chat_member.status != "kicked":
            return None
        return InboundMessage(
            channel=Channel.TELEGRAM,
            address=str(member.chat.id),
            provider_id=provider_id,
            kind="blocked",
        )
    query = update.callback_query
    if query is not None:
        message = query.message
        if message is None or message.chat.type != "private":
            return None
        return InboundMessage(
            channel=Channel.TELEGRAM,
            address=str(message.chat.id),
            provider_id=provider_id,
            kind="button",
            text=query.data or "",
            payload={"callback_id": query.id, "message_id": message.message_id},
        )
    message = update.message or update.edited_message
    if message is None or message.chat.type != "private":
        return None
    payload: dict[str, Any] = {"message_id": message.message_id}
    kind: InboundKind
    if message.reply_to_message is not None:
        payload["reply_to"] = message.reply_to_message.message_id
    if message.location is not None:
        payload.update(latitude=message.location.latitude, longitude=message.location.longitude)
        kind = "location"
        text = ""
    else:
        text = message.text or message.caption or ""
        kind = "text" if text else "unsupported"
    return InboundMessage(
        channel=Channel.TELEGRAM,
        address=str(message.chat.id),
        provider_id=provider_id,
        kind=kind,
        text=text,
        payload=payload,
    )


def _markup(meta: dict[str, Any]) -> InlineKeyboardMarkup | None:
    rows = meta.get("buttons")
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


def _retry_after_seconds(exc: RetryAfter) -> float:
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramSender(RecordsSent):
    channel = "telegram"

    def __init__(self, settings: Settings) -> None:
        cfg = settings.telegram
        self.cfg = cfg
        self.public_url = settings.server.public_url.rstrip("/")
        self.bot = make_bot(cfg, pool_size=settings.dispatch.concurrency * 2)
        self.overall = SlidingWindow(cfg.messages_per_second)
        self.per_chat = KeyedSlidingWindow(cfg.per_chat_per_second)

    async def start(self) -> None:
        await self.bot.initialize()  # getMe: fails loudly on a bad token
        if self.cfg.mode == "polling":
            await self.bot.delete_webhook()
        elif self.cfg.register_webhook:
            assert self.cfg.webhook_secret is not None
            await self.bot.set_webhook(
                url=self.public_url + WEBHOOK_PATH,
                secret_token=self.cfg.webhook_secret.get_secret_value(),
                allowed_updates=ALLOWED_UPDATES,
            )

    async def stop(self) -> None:
        await self.bot.shutdown()

    def split(self, text: str) -> list[str]:
        return split_telegram(text)

    async def _send(self, row: OutRow) -> str | None:
        """One Bot API call for the row: a button press acknowledged, an earlier
        message's buttons changed, a map pin, or text (with buttons). Returns the
        Telegram message id, if a message was sent."""
        chat = int(row.address)
        if "answer_callback" in row.meta:
            await self.bot.answer_callback_query(callback_query_id=row.meta["answer_callback"])
            return None
        if "edit_message" in row.meta:
            await self.bot.edit_message_reply_markup(
                chat_id=chat, message_id=row.meta["edit_message"], reply_markup=_markup(row.meta)
            )
            return None
        for kind in ("document", "photo", "chart"):
            if kind in row.meta:
                return await self._send_file(chat, kind, row)
        location = row.meta.get("location")
        if location:
            pin = await self.bot.send_location(
                chat_id=chat, latitude=location[0], longitude=location[1]
            )
            return str(pin.message_id)
        sent = await self.bot.send_message(
            chat_id=chat, text=row.text, reply_markup=_markup(row.meta)
        )
        return str(sent.message_id)

    async def _send_file(self, chat: int, kind: str, row: OutRow) -> str:
        """An .ics calendar, a picture or a chart drawn now from its figures (off the
        event loop), with the row's text as the caption."""
        spec = row.meta[kind]
        if kind == "chart":
            content = await asyncio.to_thread(charts.weekly_png, spec["weeks"])
        else:
            content = base64.b64decode(spec["content_b64"])
        upload = InputFile(content, filename=spec["filename"])
        if kind == "document":
            sent = await self.bot.send_document(chat_id=chat, document=upload, caption=row.text)
        else:
            sent = await self.bot.send_photo(chat_id=chat, photo=upload, caption=row.text)
        return str(sent.message_id)

    async def send(self, row: OutRow) -> str | None:
        try:
            async with self.per_chat.slot(row.address), self.overall.slot():
                return await self._send(row)
        except RetryAfter as exc:
            seconds = _retry_after_seconds(exc)
            self.overall.pause(seconds)  # Telegram asks the whole bot to wait
            raise TransientSendError("telegram:429", retry_after=seconds) from None
        except Forbidden:
            raise PermanentSendError("telegram:forbidden", "unreachable") from None
        except BadRequest as exc:
            gone = "chat not found" in exc.message.lower()
            raise PermanentSendError(
                "telegram:bad_request", "unreachable" if gone else None
            ) from None
        except NetworkError as exc:  # includes TimedOut and 5xx
            raise TransientSendError(f"telegram:{type(exc).__name__}") from None
        except TelegramError as exc:
            raise PermanentSendError(f"telegram:{type(exc).__name__}") from None


class TelegramPoller:
    """Long polling for deployments without a public URL.

    Each batch is stored in the inbox *before* the next getUpdates call confirms it to
    Telegram (by asking for a higher offset), so a crash loses nothing: unconfirmed
    updates are fetched again and deduplicated on their update_id.
    """

    def __init__(
        self, bot: Bot, timeout: int, accept: Callable[[InboundMessage], Awaitable[object]]
    ) -> None:
        self.bot = bot
        self.timeout = timeout
        self.accept = accept
        self.offset: int | None = None

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=self.offset, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES
                )
                for update in updates:
                    msg = normalise(update)
                    if msg is not None:
                        await self.accept(msg)
                    self.offset = update.update_id + 1
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                delay = min(60.0, 2.0**failures)
                log.warning(
                    "telegram polling failed",
                    extra={"error": type(exc).__name__, "retry_in": delay},
                )
                await asyncio.sleep(delay)
