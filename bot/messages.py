"""The channel-agnostic message model shared by channels, handlers and the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class Channel(StrEnum):
    TELEGRAM = "telegram"
    SMS = "sms"
    SIM = "sim"


class Priority(IntEnum):
    """Lower goes first: a reply to a person never waits behind a broadcast."""

    REPLY = 0
    ALERT = 1
    REMINDER = 2
    BULK = 3


InboundKind = Literal["text", "button", "location", "blocked", "unsupported"]


class InboundMessage(BaseModel):
    """One thing a person did, normalised from whichever channel it came through."""

    channel: Channel
    address: str = Field(min_length=1, max_length=64)
    provider_id: str = Field(min_length=1, max_length=64)
    kind: InboundKind = "text"
    text: str = ""
    payload: dict[str, Any] = Field(default_factory=dict)


@dataclass(frozen=True)
class Outbound:
    """A message a handler wants sent. ``to`` is a contact id; None means the sender."""

    text: str
    to: int | None = None
    priority: Priority = Priority.REPLY
    kind: str = "reply"
    meta: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None
    expires_at: datetime | None = None
    not_before: datetime | None = None  # prepared ahead, sent from this time
