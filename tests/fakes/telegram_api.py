"""A fake Telegram Bot API (Starlette) for driving python-telegram-bot over real HTTP.

Point PTB at it with ``Bot(token, base_url=f"{base_url}/bot")``; PTB then POSTs every call to
``{base_url}/bot{token}/{method}``. PTB sends ``application/x-www-form-urlencoded`` bodies, or
``multipart/form-data`` when a file is uploaded; every value is a string, and non-string
values (ints, bools, ``reply_markup``, ``allowed_updates``) are JSON-encoded first. Like
Telegram, the fake also accepts JSON bodies and query-string parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import ChangeSignal

JSON = dict[str, Any]
FailureKind = Literal["retry_after", "blocked", "server", "bad_request"]
MemberStatus = Literal["kicked", "member"]

MAX_MESSAGE_CHARS = 4096
# Update types Telegram leaves out unless they are asked for explicitly in allowed_updates.
OPT_IN_UPDATE_TYPES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "sendLocation"})
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_DISPOSITION_PARAM = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class ApiError(Exception):
    """A Bot API error response: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def response(self) -> JSONResponse:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return JSONResponse(body, status_code=self.status)


def _too_many_requests(retry_after: int) -> ApiError:
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


def _blocked() -> ApiError:
    return ApiError(403, "Forbidden: bot was blocked by the user")


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request."""

    form_field: str
    filename: str | None
    content_type: str | None
    content: bytes = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass
class SentCall:
    """An outgoing call the bot made that reached a user (recorded only when it succeeded)."""

    method: str
    chat_id: int | str | None
    text: str | None = None
    reply_markup: JSON | None = None
    document: UploadedFile | str | None = None  # upload for sendDocument/sendPhoto, or file_id
    caption: str | None = None
    message_id: int | None = None
    params: JSON = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class WebhookConfig:
    url: str
    secret_token: str | None
    allowed_updates: list[str] | None
    max_connections: int


@dataclass
class _Failure:
    method: str | None
    chat_id: int | str | None
    error: ApiError

    def matches(self, method: str, chat_id: int | str | None) -> bool:
        return (self.method is None or self.method == method) and (
            self.chat_id is None or self.chat_id == chat_id
        )


@dataclass(frozen=True)
class _Call:
    """One decoded Bot API request, as handed to a method handler."""

    params: JSON
    files: dict[str, UploadedFile]
    request: Request


Handler = Callable[[_Call], Awaitable[Any]]


class FakeTelegram:
    """State and HTTP surface of one fake bot. ``app`` is the Starlette app to serve.

    ``global_per_second`` / ``per_chat_per_second`` emulate Telegram's flood control: a send
    that would exceed N sends in any sliding 1 s window (overall, or to one chat) gets a 429
    with ``retry_after=1`` and is not recorded.
    """

    def __init__(
        self,
        token: str,
        *,
        global_per_second: int | None = None,
        per_chat_per_second: int | None = None,
        bot_username: str = "night_owl_test_bot",
        bot_first_name: str = "Night Owl",
    ) -> None:
        self.token = token
        bot_id = token.partition(":")[0]
        self.bot_user: JSON = {
            "id": int(bot_id) if bot_id.isdigit() else 1_000_001,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second

        self.sent: list[SentCall] = []
        self.requests_count: Counter[str] = Counter()
        self.too_many_requests = 0
        self.blocked_chats: set[int] = set()
        self.webhook: WebhookConfig | None = None
        self.allowed_updates: list[str] | None = None

        self._updates: list[JSON] = []
        self._next_update_id = 100_000
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._messages: dict[tuple[int | str, int], JSON] = {}
        self._callback_chats: dict[str, int] = {}
        self._failures: list[_Failure] = []
        self._send_times: deque[float] = deque()
        self._chat_send_times: dict[int | str, deque[float]] = {}
        self._sent_changed = ChangeSignal()
        self._updates_changed = ChangeSignal()
        self._requests_changed = ChangeSignal()

        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendLocation": self._send_location,
            "answerCallbackQuery": self._answer_callback_query,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "getUpdates": self._get_updates,
        }
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}
        self.app = Starlette(
            routes=[Route("/bot{token}/{method}", self._dispatch, methods=["GET", "POST"])]
        )

    # ----------------------------------------------------------------- test controls

    def fail_next(
        self,
        method: str | None = "sendMessage",
        chat_id: int | str | None = None,
        error: FailureKind = "retry_after",
        retry_after: int = 2,
        status: int = 500,
    ) -> None:
        """Make the next matching call fail once (``method=None`` matches any method).

        ``status`` is the HTTP status for ``error="server"`` (e.g. 500 or 502).
        """
        match error:
            case "retry_after":
                api_error = _too_many_requests(retry_after)
            case "blocked":
                api_error = _blocked()
            case "server":
                api_error = ApiError(status, HTTPStatus(status).phrase)
            case "bad_request":
                api_error = ApiError(400, "Bad Request: chat not found")
            case _:
                raise ValueError(f"unknown failure kind {error!r}")
        self._failures.append(_Failure(method, chat_id, api_error))

    async def wait_for_sent(self, n: int, timeout: float = 10.0) -> list[SentCall]:
        """Return ``sent`` once it holds at least ``n`` calls; TimeoutError at the deadline."""
        try:
            async with asyncio.timeout(timeout):
                await self._sent_changed.wait_until(lambda: len(self.sent) >= n)
        except TimeoutError:
            summary = [(c.method, c.chat_id, c.text) for c in self.sent]
            raise TimeoutError(
                f"expected >= {n} sent calls within {timeout}s, got {len(self.sent)}: {summary}"
            ) from None
        return list(self.sent)

    async def wait_for_requests(self, method: str, n: int = 1, timeout: float = 10.0) -> None:
        """Return once ``method`` has been requested ``n`` times (e.g. a poll is in flight)."""
        try:
            async with asyncio.timeout(timeout):
                await self._requests_changed.wait_until(lambda: self.requests_count[method] >= n)
        except TimeoutError:
            raise TimeoutError(
                f"expected >= {n} {method} requests within {timeout}s, "
                f"got {self.requests_count[method]}"
            ) from None

    def sent_to(self, chat_id: int | str, method: str | None = "sendMessage") -> list[SentCall]:
        return [
            c for c in self.sent if c.chat_id == chat_id and (method is None or c.method == method)
        ]

    def push_update(self, update: JSON) -> JSON:
        """Queue an update for getUpdates (assigning ``update_id`` if absent) and return it.

        Like Telegram, a ``my_chat_member`` update moving the bot to "kicked" means the user
        blocked it, so later sends to that chat get 403 until a "member" update arrives.
        """
        if "update_id" not in update:
            update["update_id"] = self._new_update_id()
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        member = update.get("my_chat_member")
        if member is not None:
            chat_id = member["chat"]["id"]
            if member["new_chat_member"]["status"] == "kicked":
                self.blocked_chats.add(chat_id)
            else:
                self.blocked_chats.discard(chat_id)
        self._updates.append(update)
        self._updates_changed.notify()
        return update

    async def deliver_webhook(self, update: JSON) -> int:
        """POST ``update`` to the registered webhook like Telegram does; return the status."""
        if self.webhook is None:
            raise RuntimeError("no webhook is set; call setWebhook first")
        if "update_id" not in update:
            update["update_id"] = self._new_update_id()
        headers = {}
        if self.webhook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook.secret_token
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            response = await client.post(self.webhook.url, json=update, headers=headers)
        return response.status_code

    # ----------------------------------------------------------------- update builders

    def text_update(
        self,
        chat_id: int,
        text: str,
        first_name: str = "Alex",
        username: str | None = "alex_test",
        update_id: int | None = None,
    ) -> JSON:
        """A private text message; a leading ``/command`` gets its bot_command entity."""
        message = self._user_message(chat_id, first_name, username)
        message["text"] = text
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._update("message", message, update_id)

    def callback_update(
        self,
        chat_id: int,
        data: str,
        message_id: int,
        first_name: str = "Alex",
        username: str | None = "alex_test",
        update_id: int | None = None,
    ) -> JSON:
        """A button press on bot message ``message_id`` (the sent message if the fake has it)."""
        message = self._messages.get((chat_id, message_id)) or {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": "",
        }
        callback_id = str(next(self._callback_ids))
        self._callback_chats[callback_id] = chat_id
        query = {
            "id": callback_id,
            "from": _user(chat_id, first_name, username),
            "message": message,
            "chat_instance": str(chat_id),
            "data": data,
        }
        return self._update("callback_query", query, update_id)

    def location_update(
        self,
        chat_id: int,
        lat: float,
        lon: float,
        first_name: str = "Alex",
        username: str | None = "alex_test",
        update_id: int | None = None,
    ) -> JSON:
        message = self._user_message(chat_id, first_name, username)
        message["location"] = {"latitude": lat, "longitude": lon}
        return self._update("message", message, update_id)

    def my_chat_member_update(
        self,
        chat_id: int,
        status: MemberStatus,
        first_name: str = "Alex",
        username: str | None = "alex_test",
        update_id: int | None = None,
    ) -> JSON:
        """The bot's membership in a private chat changed: "kicked" = blocked, "member" = not."""
        old_status = "member" if status == "kicked" else "kicked"
        new_member: JSON = {"user": self.bot_user, "status": status}
        if status == "kicked":
            new_member["until_date"] = 0  # banned forever, as Telegram reports a block
        old_member: JSON = {"user": self.bot_user, "status": old_status}
        if old_status == "kicked":
            old_member["until_date"] = 0
        change = {
            "chat": _private_chat(chat_id, first_name, username),
            "from": _user(chat_id, first_name, username),
            "date": int(time.time()),
            "old_chat_member": old_member,
            "new_chat_member": new_member,
        }
        return self._update("my_chat_member", change, update_id)

    def _update(self, kind: str, payload: JSON, update_id: int | None) -> JSON:
        return {
            "update_id": self._new_update_id() if update_id is None else update_id,
            kind: payload,
        }

    def _new_update_id(self) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        return update_id

    def _user_message(self, chat_id: int, first_name: str, username: str | None) -> JSON:
        return {
            "message_id": next(self._message_ids),
            "from": _user(chat_id, first_name, username),
            "chat": _private_chat(chat_id, first_name, username),
            "date": int(time.time()),
        }

    # ----------------------------------------------------------------- HTTP plumbing

    async def _dispatch(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return ApiError(401, "Unauthorized").response()
        entry = self._methods.get(request.path_params["method"].lower())
        if entry is None:
            return ApiError(404, "Not Found").response()
        name, handler = entry
        self.requests_count[name] += 1
        self._requests_changed.notify()
        try:
            params, files = await _read_params(request)
            failure = self._take_failure(name, _optional_chat_id(params))
            if failure is not None:
                raise failure
            result = await handler(_Call(params, files, request))
        except ApiError as exc:
            if exc.status == 429:
                self.too_many_requests += 1
            return exc.response()
        return JSONResponse({"ok": True, "result": result})

    def _take_failure(self, method: str, chat_id: int | str | None) -> ApiError | None:
        for index, failure in enumerate(self._failures):
            if failure.matches(method, chat_id):
                del self._failures[index]
                return failure.error
        return None

    def _admit_send(self, chat_id: int | str, *, flood_limited: bool = True) -> None:
        """Refuse sends to blocked chats and sends over the flood limits."""
        if chat_id in self.blocked_chats:
            raise _blocked()
        if not flood_limited:
            return
        now = time.monotonic()
        chat_times = self._chat_send_times.setdefault(chat_id, deque())
        for times, limit in (
            (self._send_times, self.global_per_second),
            (chat_times, self.per_chat_per_second),
        ):
            while times and times[0] <= now - 1.0:
                times.popleft()
            if limit is not None and len(times) >= limit:
                raise _too_many_requests(1)
        self._send_times.append(now)
        chat_times.append(now)

    def _record(self, call: SentCall) -> None:
        self.sent.append(call)
        self._sent_changed.notify()

    def _bot_message(self, chat_id: int | str, **content: Any) -> JSON:
        message = {
            "message_id": next(self._message_ids),
            "from": self.bot_user,
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            **{key: value for key, value in content.items() if value is not None},
        }
        self._messages[(chat_id, message["message_id"])] = message
        return message

    # ----------------------------------------------------------------- Bot API methods

    async def _get_me(self, call: _Call) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _send_message(self, call: _Call) -> JSON:
        chat_id = _require_chat_id(call.params)
        text = call.params.get("text") or ""
        if not text:
            raise ApiError(400, "Bad Request: message text is empty")
        # With a parse_mode the limit applies after markup is stripped; don't guess at it.
        if not call.params.get("parse_mode") and len(text) > MAX_MESSAGE_CHARS:
            raise ApiError(400, "Bad Request: message is too long")
        markup = _json_param(call.params, "reply_markup")
        self._admit_send(chat_id)
        message = self._bot_message(chat_id, text=text, reply_markup=_inline_only(markup))
        self._record(
            SentCall(
                "sendMessage",
                chat_id,
                text=text,
                reply_markup=markup,
                message_id=message["message_id"],
                params=call.params,
            )
        )
        return message

    async def _send_document(self, call: _Call) -> JSON:
        return self._send_file("sendDocument", "document", call)

    async def _send_photo(self, call: _Call) -> JSON:
        return self._send_file("sendPhoto", "photo", call)

    def _send_file(self, method: str, kind: str, call: _Call) -> JSON:
        chat_id = _require_chat_id(call.params)
        document: UploadedFile | str | None = call.files.get(kind) or call.params.get(kind)
        if not document:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        caption = call.params.get("caption")
        markup = _json_param(call.params, "reply_markup")
        self._admit_send(chat_id)
        file_id = f"{kind}-{next(self._file_ids)}"
        if kind == "photo":
            size = {"width": 320, "height": 320}
            if isinstance(document, UploadedFile):
                size["file_size"] = document.size
            media: Any = [{"file_id": file_id, "file_unique_id": file_id, **size}]
        else:
            media = {"file_id": file_id, "file_unique_id": file_id}
            if isinstance(document, UploadedFile):
                media |= {"file_size": document.size, "mime_type": document.content_type}
                if document.filename:
                    media["file_name"] = document.filename
        message = self._bot_message(
            chat_id, caption=caption, reply_markup=_inline_only(markup), **{kind: media}
        )
        self._record(
            SentCall(
                method,
                chat_id,
                reply_markup=markup,
                document=document,
                caption=caption,
                message_id=message["message_id"],
                params=call.params,
            )
        )
        return message

    async def _send_location(self, call: _Call) -> JSON:
        chat_id = _require_chat_id(call.params)
        try:
            location = {
                "latitude": float(call.params["latitude"]),
                "longitude": float(call.params["longitude"]),
            }
        except (KeyError, ValueError) as exc:
            raise ApiError(400, "Bad Request: wrong latitude or longitude") from exc
        markup = _json_param(call.params, "reply_markup")
        self._admit_send(chat_id)
        message = self._bot_message(chat_id, location=location, reply_markup=_inline_only(markup))
        self._record(
            SentCall(
                "sendLocation",
                chat_id,
                reply_markup=markup,
                message_id=message["message_id"],
                params=call.params,
            )
        )
        return message

    async def _answer_callback_query(self, call: _Call) -> bool:
        callback_id = call.params.get("callback_query_id")
        if callback_id not in self._callback_chats:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._record(
            SentCall(
                "answerCallbackQuery",
                self._callback_chats[callback_id],
                text=call.params.get("text"),
                params=call.params,
            )
        )
        return True

    async def _edit_message_reply_markup(self, call: _Call) -> JSON:
        chat_id = _require_chat_id(call.params)
        message_id = _int_param(call.params, "message_id")
        message = self._messages.get((chat_id, message_id or 0))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        markup = _json_param(call.params, "reply_markup")
        self._admit_send(chat_id, flood_limited=False)
        inline = _inline_only(markup)
        if inline is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = inline
        message["edit_date"] = int(time.time())
        self._record(
            SentCall(
                "editMessageReplyMarkup",
                chat_id,
                reply_markup=markup,
                message_id=message_id,
                params=call.params,
            )
        )
        return message

    async def _set_webhook(self, call: _Call) -> bool:
        url = call.params.get("url") or ""
        secret = call.params.get("secret_token") or None
        if secret is not None and not _SECRET_TOKEN.fullmatch(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        allowed = _json_param(call.params, "allowed_updates")
        if allowed is not None:
            self.allowed_updates = list(allowed)
        if _bool_param(call.params, "drop_pending_updates"):
            self._updates.clear()
        # An empty URL removes the webhook, as in the real API.
        self.webhook = (
            WebhookConfig(
                url=url,
                secret_token=secret,
                allowed_updates=self.allowed_updates,
                max_connections=_int_param(call.params, "max_connections") or 40,
            )
            if url
            else None
        )
        return True

    async def _delete_webhook(self, call: _Call) -> bool:
        self.webhook = None
        if _bool_param(call.params, "drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, call: _Call) -> JSON:
        info: JSON = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    async def _get_updates(self, call: _Call) -> list[JSON]:
        if self.webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _int_param(call.params, "offset")
        limit = min(max(_int_param(call.params, "limit") or 100, 1), 100)
        timeout = float(call.params.get("timeout") or 0)
        allowed = _json_param(call.params, "allowed_updates")
        if allowed is not None:
            self.allowed_updates = list(allowed)
        if offset is not None:
            self._confirm(offset)
        with contextlib.suppress(TimeoutError):  # an empty long poll is a normal answer
            async with asyncio.timeout(timeout):
                await self._long_poll(call.request, limit)
        return self._deliverable(limit)

    async def _long_poll(self, request: Request, limit: int) -> None:
        """Wait for deliverable updates or for the client hanging up.

        PTB abandons its in-flight poll when the updater stops; ending the wait then (as
        Telegram does) keeps server shutdown from waiting out the whole poll timeout.
        """
        arrived = asyncio.ensure_future(
            self._updates_changed.wait_until(lambda: bool(self._deliverable(limit)))
        )
        hung_up = asyncio.ensure_future(_client_disconnected(request))
        try:
            await asyncio.wait({arrived, hung_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            arrived.cancel()
            hung_up.cancel()

    def _confirm(self, offset: int) -> None:
        """Forget updates with ``update_id < offset``; a negative offset keeps the last -offset."""
        if offset < 0:
            del self._updates[:offset]
        else:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]

    def _deliverable(self, limit: int) -> list[JSON]:
        if self.allowed_updates:
            wanted = set(self.allowed_updates)
            updates = [u for u in self._updates if _update_type(u) in wanted]
        else:
            updates = [u for u in self._updates if _update_type(u) not in OPT_IN_UPDATE_TYPES]
        return updates[:limit]


# --------------------------------------------------------------------- parsing helpers


async def _read_params(request: Request) -> tuple[JSON, dict[str, UploadedFile]]:
    params: JSON = dict(request.query_params)
    files: dict[str, UploadedFile] = {}
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    try:
        if content_type.startswith("application/json"):
            params.update(json.loads(body or b"{}"))
        elif content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        elif content_type.startswith("multipart/form-data"):
            fields, files = _parse_multipart(content_type, body)
            params.update(fields)
    except ValueError as exc:
        raise ApiError(400, f"Bad Request: can't parse request body: {exc}") from exc
    return params, files


def _parse_multipart(content_type: str, body: bytes) -> tuple[JSON, dict[str, UploadedFile]]:
    """Split a multipart/form-data body (python-multipart isn't installed for Starlette)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise ValueError("multipart boundary missing")
    fields: JSON = {}
    files: dict[str, UploadedFile] = {}
    for part in body.split(b"--" + match.group(1).encode("latin-1"))[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, separator, content = part.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("malformed multipart part")
        content = content.removesuffix(b"\r\n")
        headers = {}
        for line in head.decode("utf-8").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = {
            key: re.sub(r"\\(.)", r"\1", value)
            for key, value in _DISPOSITION_PARAM.findall(headers.get("content-disposition", ""))
        }
        if "filename" in disposition:
            files[disposition["name"]] = UploadedFile(
                form_field=disposition["name"],
                filename=disposition["filename"] or None,
                content_type=headers.get("content-type"),
                content=content,
            )
        else:
            fields[disposition["name"]] = content.decode("utf-8")
    return fields, files


async def _client_disconnected(request: Request) -> None:
    """Return when the client closes the connection (the body has already been read)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


def _json_param(params: JSON, name: str) -> Any:
    """A structured parameter: JSON-encoded text in forms, already decoded in JSON bodies."""
    value = params.get(name)
    if isinstance(value, str):
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from exc
    return value


def _int_param(params: JSON, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError(400, f"Bad Request: invalid {name}") from exc


def _bool_param(params: JSON, name: str) -> bool:
    value = params.get(name)
    return value is True or value in ("true", "True", "1")


def _optional_chat_id(params: JSON) -> int | str | None:
    value = params.get("chat_id")
    if value is None or value == "":
        return None
    text = str(value)
    return int(text) if text.lstrip("-").isdigit() else text  # "@channel" stays a string


def _require_chat_id(params: JSON) -> int | str:
    chat_id = _optional_chat_id(params)
    if chat_id is None:
        raise ApiError(400, "Bad Request: chat_id is empty")
    return chat_id


def _inline_only(markup: Any) -> JSON | None:
    """Telegram echoes only inline keyboards in the returned Message."""
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        return markup
    return None


def _update_type(update: JSON) -> str:
    return next(key for key in update if key != "update_id")


def _user(user_id: int, first_name: str, username: str | None) -> JSON:
    user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
    if username:
        user["username"] = username
    return user


def _private_chat(chat_id: int, first_name: str, username: str | None) -> JSON:
    chat: JSON = {"id": chat_id, "type": "private", "first_name": first_name}
    if username:
        chat["username"] = username
    return chat
