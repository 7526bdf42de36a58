"""The HTTP face of Night Owl: provider webhooks, the simulator, health and metrics."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from urllib.parse import parse_qsl

from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.channels import sim, sms, telegram
from bot.channels.sim import SimSender
from bot.channels.telegram import TelegramSender
from bot.config import Settings
from bot.http_limits import BodyLimit
from bot.messages import Channel, InboundMessage
from bot.service import Service
from bot.store import contacts as contacts_repo
from bot.store import outbox as outbox_repo
from content.cli import RELOAD_PATH
from content.errors import ContentError
from content.html_map import render_map_html

log = logging.getLogger("nightowl.http")

SIM_PAGE = Path(__file__).with_name("static") / "sim.html"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# Twilio delivery errors that tell us about the person, not the moment.
_CALLBACK_OPTED_OUT = {"21610"}
_CALLBACK_UNREACHABLE = {"30005", "30006", "21614"}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def _require_channel(request: Request, channel: str) -> Service:
    service = _service(request)
    if not service.enabled(channel):
        raise HTTPException(404, "not found")
    return service


async def _twilio_form(request: Request, service: Service) -> FormData:
    """The webhook's form, once its X-Twilio-Signature checks out (else 403/400)."""
    try:
        body = (await request.body()).decode("utf-8")
        pairs = parse_qsl(body, keep_blank_values=True, strict_parsing=bool(body))
        form = FormData([(k, v) for k, v in pairs])
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(400, "malformed form body") from None
    cfg = service.settings.sms
    assert cfg.auth_token is not None
    url = service.settings.server.public_url.rstrip("/") + request.url.path
    if request.url.query:
        url += "?" + request.url.query
    signature = request.headers.get(sms.SIGNATURE_HEADER)
    if not sms.is_signed(cfg.auth_token.get_secret_value(), url, form, signature):
        raise HTTPException(403, "bad signature")
    return form


async def telegram_webhook(request: Request) -> Response:
    service = _require_channel(request, "telegram")
    cfg = service.settings.telegram
    if cfg.mode != "webhook":
        raise HTTPException(404, "not found")
    assert cfg.webhook_secret is not None
    given = request.headers.get(telegram.SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), cfg.webhook_secret.get_secret_value().encode()):
        raise HTTPException(403, "bad secret token")
    sender = service.senders["telegram"]
    assert isinstance(sender, TelegramSender)
    try:
        data = json.loads(await request.body())
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise ValueError("no update_id")
        msg = telegram.normalise(Update.de_json(data, sender.bot))
    except (ValueError, TypeError, KeyError, AttributeError):
        raise HTTPException(400, "malformed update") from None
    if msg is not None:
        await service.accept(msg)
    return Response(status_code=200)


async def sms_inbound(request: Request) -> Response:
    service = _require_channel(request, "sms")
    form = await _twilio_form(request, service)
    try:
        msg = sms.normalise(form, service.settings.sms.default_region)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    await service.accept(msg)
    return Response(EMPTY_TWIML, media_type="text/xml")


async def sms_status(request: Request) -> Response:
    service = _require_channel(request, "sms")
    form = await _twilio_form(request, service)
    sid, status = sms.field(form, "MessageSid"), sms.field(form, "MessageStatus")
    if not sid or not status:
        raise HTTPException(400, "MessageSid and MessageStatus are required")
    ours = sms.CALLBACK_STATUS.get(status)
    if ours is None:  # queued, sending, accepted…: nothing to record
        return Response(status_code=204)
    code = sms.field(form, "ErrorCode")
    async with service.store.tx() as conn:
        contact_id = await outbox_repo.apply_delivery_status(
            conn, "sms", sid, ours, f"twilio:{code}" if code else None
        )
        if contact_id is not None and code in _CALLBACK_OPTED_OUT:
            await contacts_repo.set_flags(conn, contact_id, opted_out=True)
        elif contact_id is not None and code in _CALLBACK_UNREACHABLE:
            await contacts_repo.set_flags(conn, contact_id, unreachable=True)
    return Response(status_code=204)


class SimSend(BaseModel):
    sender: str = Field(alias="from", pattern=sim.ADDRESS.pattern)
    text: str = Field(min_length=1, max_length=4096)


async def sim_page(request: Request) -> Response:
    _require_channel(request, "sim")
    return HTMLResponse(SIM_PAGE.read_text(encoding="utf-8"))


async def sim_send(request: Request) -> Response:
    service = _require_channel(request, "sim")
    try:
        payload = SimSend.model_validate_json(await request.body())
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        return _error(400, f"{where}: {first['msg']}")
    msg = InboundMessage(
        channel=Channel.SIM, address=payload.sender, provider_id=uuid.uuid4().hex, text=payload.text
    )
    inbox_id = await service.accept(msg)
    return JSONResponse({"id": inbox_id}, status_code=202)


async def sim_messages(request: Request) -> Response:
    service = _require_channel(request, "sim")
    to = request.query_params.get("to", "")
    after = request.query_params.get("after", "0") or "0"
    if not sim.ADDRESS.match(to):
        return _error(400, "to: 1-32 letters, digits, - or _")
    if not after.isdigit():
        return _error(400, "after: a cursor from an earlier answer")
    try:
        wait = float(request.query_params.get("wait", "0") or "0")
    except ValueError:
        wait = -1.0
    if not 0 <= wait <= sim.MAX_WAIT_SECONDS:
        return _error(400, f"wait: seconds to wait for a message, 0 to {sim.MAX_WAIT_SECONDS:g}")
    sender = service.senders["sim"]
    assert isinstance(sender, SimSender)
    deadline = asyncio.get_running_loop().time() + wait
    while True:  # a long poll: answer as soon as there is something, or at the deadline
        doorbell = sender.doorbell(to)
        async with service.store.read() as conn:
            messages = await sim.messages_for(conn, to, int(after))
        left = deadline - asyncio.get_running_loop().time()
        if messages or left <= 0:
            break
        with suppress(TimeoutError):
            await asyncio.wait_for(doorbell.wait(), left)
    cursor = messages[-1]["id"] if messages else int(after)
    return JSONResponse({"messages": messages, "cursor": cursor})


async def network_map(request: Request) -> Response:
    """The whole recovery network map as one printable, accessible page."""
    return HTMLResponse(render_map_html(_service(request).content.network))


async def content_reload(request: Request) -> Response:
    """Reload content/ (``nightowl content reload``). Only from this machine."""
    client = request.client.host if request.client else ""
    if client not in ("127.0.0.1", "::1", "localhost"):
        raise HTTPException(403, "only from this machine")
    try:
        network = await _service(request).content.reload_async()
    except ContentError as exc:
        return _error(400, "; ".join(str(p) for p in exc.problems[:5]))
    return JSONResponse({"meetings": len(network.meetings), "services": len(network.services)})


async def healthz(request: Request) -> Response:
    service = _service(request)
    tasks = service.health()
    db = await service.store.ping()
    ok = db and all(tasks.values())
    return JSONResponse({"ok": ok, "database": db, "tasks": tasks}, status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    service = _service(request)
    await service.queue_depths()
    return Response(service.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def home(request: Request) -> Response:
    if _service(request).enabled("sim"):
        return RedirectResponse("/sim", status_code=303)
    return Response("Night Owl is running.\n", media_type="text/plain")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail)


def create_app(settings: Settings, service: Service | None = None) -> Starlette:
    service = service or Service(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Route(telegram.WEBHOOK_PATH, telegram_webhook, methods=["POST"]),
            Route(sms.INBOUND_PATH, sms_inbound, methods=["POST"]),
            Route(sms.STATUS_PATH, sms_status, methods=["POST"]),
            Route("/sim", sim_page),
            Route("/sim/api/send", sim_send, methods=["POST"]),
            Route("/sim/api/messages", sim_messages),
            Route("/map", network_map),
            Route(RELOAD_PATH, content_reload, methods=["POST"]),
        ],
        middleware=[Middleware(BodyLimit, max_bytes=settings.server.max_body_bytes)],
        exception_handlers={HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.state.service = service
    return app
