"""SMS through Twilio: the signed webhook's form, and the sender (REST API, async)."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
import phonenumbers
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.config import Settings
from bot.messages import Channel, InboundMessage
from bot.ratelimit import SlidingWindow
from bot.segments import split_sms
from bot.store.outbox import OutRow

from .base import PermanentSendError, RecordsSent, TransientSendError

INBOUND_PATH = "/sms/twilio"
STATUS_PATH = "/sms/twilio/status"
SIGNATURE_HEADER = "X-Twilio-Signature"

# Twilio error codes that mean "stop trying this person".
OPTED_OUT_CODES = {21610}
BAD_NUMBER_CODES = {21211, 21214, 21217, 21612, 21614}
# Delivery callback statuses → our outbox statuses.
CALLBACK_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


def to_e164(number: str, region: str) -> str:
    """Normalise a phone number to E.164; ValueError if it isn't one."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def is_signed(auth_token: str, url: str, form: Mapping[str, object], signature: str | None) -> bool:
    return bool(signature) and RequestValidator(auth_token).validate(url, form, signature or "")


def field(form: Mapping[str, object], name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def normalise(form: Mapping[str, object], region: str) -> InboundMessage:
    """An ``InboundMessage`` from Twilio's inbound-message webhook form."""
    sid = field(form, "MessageSid") or field(form, "SmsSid")
    sender = field(form, "From")
    if not sid or not sender:
        raise ValueError("MessageSid and From are required")
    body = field(form, "Body")
    has_media = field(form, "NumMedia") not in ("", "0")
    return InboundMessage(
        channel=Channel.SMS,
        address=to_e164(sender, region),
        provider_id=sid,
        kind="unsupported" if has_media and not body.strip() else "text",
        text=body,
        payload={"to": field(form, "To")},
    )


class SmsSender(RecordsSent):
    channel = "sms"

    def __init__(self, settings: Settings) -> None:
        cfg = settings.sms
        assert cfg.account_sid and cfg.auth_token and cfg.from_number
        self.cfg = cfg
        self.status_callback = settings.server.public_url.rstrip("/") + STATUS_PATH
        self.per_sender = SlidingWindow(cfg.segments_per_second)
        self.http: AsyncTwilioHttpClient | None = None
        self.client: Client | None = None

    async def start(self) -> None:
        # The aiohttp session must be made inside the running loop.
        assert self.cfg.auth_token is not None
        self.http = AsyncTwilioHttpClient(timeout=15)
        self.client = Client(
            self.cfg.account_sid, self.cfg.auth_token.get_secret_value(), http_client=self.http
        )
        self.client.api.base_url = self.cfg.api_base_url.rstrip("/")

    async def stop(self) -> None:
        if self.http is not None and self.http.session is not None:
            await self.http.session.close()

    def split(self, text: str) -> list[str]:
        return split_sms(text, self.cfg.max_segments_per_message)

    async def send(self, row: OutRow) -> str | None:
        assert self.client is not None
        try:
            async with self.per_sender.slot(row.segments):
                message = await self.client.messages.create_async(
                    to=row.address,
                    from_=self.cfg.from_number,
                    body=row.text,
                    status_callback=self.status_callback,
                    validity_period=self.cfg.validity_period_seconds,
                )
        except TwilioRestException as exc:
            code = int(exc.code or 0)
            if exc.status == 429 or exc.status >= 500:
                if exc.status == 429:
                    self.per_sender.pause(1.0)
                raise TransientSendError(f"twilio:{exc.status}:{code}") from None
            if code in OPTED_OUT_CODES:
                raise PermanentSendError(f"twilio:{code}", "opted_out") from None
            if code in BAD_NUMBER_CODES:
                raise PermanentSendError(f"twilio:{code}", "unreachable") from None
            raise PermanentSendError(f"twilio:{exc.status}:{code}") from None
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise TransientSendError(f"twilio:{type(exc).__name__}") from None
        return message.sid
