"""A fake Twilio REST API (Programmable Messaging) plus helpers for signed webhooks.

Point the real client at it with::

    http_client = AsyncTwilioHttpClient()          # inside the running loop
    client = Client(account_sid, auth_token, http_client=http_client)
    client.api.base_url = base_url                 # e.g. "http://127.0.0.1:54321"

and leave ``TWILIO_EDGE`` / ``TWILIO_REGION`` unset: with either set, twilio rewrites the
URL's host as ``api.<edge>.<region>.twilio.com`` and "127.0.0.1" gets mangled.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import httpx
import phonenumbers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from bot.segments import count_segments
from tests.fakes.server import ChangeSignal

JSON = dict[str, Any]
API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
TEST_ACCOUNT_SID = "AC" + "0" * 32

# Default message and HTTP status for the error codes tests usually inject.
ERROR_DEFAULTS: dict[int, tuple[int, str]] = {
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    21211: (400, "Invalid 'To' Phone Number"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
}


class TwilioError(Exception):
    """A Twilio REST error response (the legacy shape ``TwilioRestException`` parses)."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def response(self) -> JSONResponse:
        body = {
            "code": self.code,
            "message": self.message,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }
        return JSONResponse(body, status_code=self.status)


@dataclass
class SentSms:
    """One message created through ``POST .../Messages.json``."""

    sid: str
    to: str
    from_: str | None
    body: str
    status_callback: str | None
    validity_period: int | None
    segments: int
    messaging_service_sid: str | None = None
    status: str = "queued"
    error_code: int | None = None
    params: dict[str, str] = field(default_factory=dict)
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    at: float = field(default_factory=time.monotonic)


@dataclass
class _Failure:
    to: str | None
    error: TwilioError


class FakeTwilio:
    """State and HTTP surface of one fake Twilio account. ``app`` is the Starlette app.

    With ``segments_per_second_per_sender`` set, every message that pushes one sender (From,
    or the MessagingServiceSid) over that many segments in a sliding 1 s window increments
    ``rate_violations``; the message is still accepted.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        segments_per_second_per_sender: float | None = None,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.segments_per_second_per_sender = segments_per_second_per_sender
        self.messages: list[SentSms] = []
        self.rate_violations = 0
        self._by_sid: dict[str, SentSms] = {}
        self._failures: list[_Failure] = []
        self._sender_windows: dict[str, deque[tuple[float, int]]] = {}
        self._messages_changed = ChangeSignal()
        prefix = f"/{API_VERSION}/Accounts/{{account_sid}}"
        self.app = Starlette(
            routes=[
                Route(f"{prefix}/Messages.json", self._create_message, methods=["POST"]),
                Route(f"{prefix}/Messages/{{sid}}.json", self._fetch_message, methods=["GET"]),
            ]
        )

    # ----------------------------------------------------------------- test controls

    def fail_next(
        self,
        to: str | None = None,
        status: int | None = None,
        code: int = 21610,
        message: str | None = None,
    ) -> None:
        """Fail the next create (to ``to`` only, if given) with a Twilio error.

        ``status`` and ``message`` default from ``ERROR_DEFAULTS`` (else 400 / "Error <code>").
        """
        default_status, default_message = ERROR_DEFAULTS.get(code, (400, f"Error {code}"))
        error = TwilioError(status or default_status, code, message or default_message)
        self._failures.append(_Failure(to, error))

    async def wait_for_messages(self, n: int, timeout: float = 10.0) -> list[SentSms]:
        """Return ``messages`` once it holds at least ``n``; TimeoutError at the deadline."""
        try:
            async with asyncio.timeout(timeout):
                await self._messages_changed.wait_until(lambda: len(self.messages) >= n)
        except TimeoutError:
            summary = [(m.to, m.body) for m in self.messages]
            raise TimeoutError(
                f"expected >= {n} messages within {timeout}s, got {len(self.messages)}: {summary}"
            ) from None
        return list(self.messages)

    async def deliver(
        self, sid: str, status: str = "delivered", error_code: int | None = None
    ) -> int:
        """Update the message's status and POST a signed status callback; return the HTTP status."""
        message = self._by_sid.get(sid)
        if message is None:
            raise KeyError(f"unknown message sid {sid!r}")
        if message.status_callback is None:
            raise ValueError(f"message {sid} was created without a StatusCallback")
        message.status = status
        message.error_code = error_code
        message.date_updated = datetime.now(UTC)
        params = {
            "MessageSid": sid,
            "SmsSid": sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "AccountSid": self.account_sid,
            "To": message.to,
            "From": message.from_ or "",
            "ApiVersion": API_VERSION,
        }
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        headers = signed_webhook(message.status_callback, params, self.auth_token)
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            response = await client.post(message.status_callback, data=params, headers=headers)
        return response.status_code

    # ----------------------------------------------------------------- HTTP endpoints

    async def _create_message(self, request: Request) -> JSONResponse:
        try:
            self._authenticate(request)
            form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
            message = self._accept(form)
        except TwilioError as exc:
            return exc.response()
        return JSONResponse(self._resource(message), status_code=201)

    async def _fetch_message(self, request: Request) -> JSONResponse:
        try:
            self._authenticate(request)
            message = self._by_sid.get(request.path_params["sid"])
            if message is None:
                raise _not_found(request)
        except TwilioError as exc:
            return exc.response()
        return JSONResponse(self._resource(message))

    def _authenticate(self, request: Request) -> None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        try:
            username, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username = password = ""
        if scheme.lower() != "basic" or (username, password) != (
            self.account_sid,
            self.auth_token,
        ):
            raise TwilioError(401, 20003, "Authenticate")
        if request.path_params["account_sid"] != self.account_sid:
            raise _not_found(request)

    def _accept(self, form: dict[str, str]) -> SentSms:
        to = form.get("To")
        from_ = form.get("From")
        service = form.get("MessagingServiceSid")
        body = form.get("Body")
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if not body and not form.get("MediaUrl"):
            raise TwilioError(400, 21602, "Message body is required.")
        body = body or ""
        if len(body) > MAX_BODY_CHARS:
            raise TwilioError(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        for index, failure in enumerate(self._failures):
            if failure.to is None or failure.to == to:
                del self._failures[index]
                raise failure.error

        validity = form.get("ValidityPeriod")
        message = SentSms(
            sid="SM" + uuid.uuid4().hex,
            to=to,
            from_=from_,
            body=body,
            status_callback=form.get("StatusCallback"),
            validity_period=int(validity) if validity else None,
            segments=count_segments(body),
            messaging_service_sid=service,
            # Twilio "accepts" service messages and picks a sender later.
            status="queued" if from_ else "accepted",
            params=form,
        )
        self._check_rate(from_ or service or "", message.segments, message.at)
        self.messages.append(message)
        self._by_sid[message.sid] = message
        self._messages_changed.notify()
        return message

    def _check_rate(self, sender: str, segments: int, now: float) -> None:
        if self.segments_per_second_per_sender is None:
            return
        window = self._sender_windows.setdefault(sender, deque())
        while window and window[0][0] <= now - 1.0:
            window.popleft()
        window.append((now, segments))
        if sum(count for _, count in window) > self.segments_per_second_per_sender:
            self.rate_violations += 1

    def _resource(self, message: SentSms) -> JSON:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}.json"
        sent = message.status in {"sent", "delivered", "undelivered", "read"}
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": format_datetime(message.date_created),
            "date_sent": format_datetime(message.date_updated) if sent else None,
            "date_updated": format_datetime(message.date_updated),
            "direction": "outbound-api",
            "error_code": message.error_code,
            "error_message": None,
            "from": message.from_,
            "messaging_service_sid": message.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(message.segments),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": message.status,
            "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
            "to": message.to,
            "uri": uri,
        }


def _not_found(request: Request) -> TwilioError:
    return TwilioError(404, 20404, f"The requested resource {request.url.path} was not found")


def signed_webhook(url: str, params: dict[str, str], auth_token: str) -> dict[str, str]:
    """Headers Twilio would send when POSTing form ``params`` to ``url``."""
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return {"X-Twilio-Signature": signature}


def inbound_sms_params(
    from_: str,
    to: str,
    body: str,
    sid: str | None = None,
    *,
    account_sid: str = TEST_ACCOUNT_SID,
) -> dict[str, str]:
    """The form fields Twilio POSTs to an SMS webhook for an inbound message."""
    sid = sid or "SM" + uuid.uuid4().hex
    return {
        "ToCountry": _country(to),
        "ToState": "",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ToCity": "",
        "FromZip": "",
        "SmsSid": sid,
        "FromState": "",
        "SmsStatus": "received",
        "FromCity": "",
        "Body": body,
        "FromCountry": _country(from_),
        "To": to,
        "ToZip": "",
        "NumSegments": str(count_segments(body)),
        "MessageSid": sid,
        "AccountSid": account_sid,
        "From": from_,
        "ApiVersion": API_VERSION,
    }


def _country(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number)
    except phonenumbers.NumberParseException:
        return ""
    return phonenumbers.region_code_for_country_code(parsed.country_code or 0)
