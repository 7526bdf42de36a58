"""What a handler is given: one inbound message, its sender, and the open transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.messages import InboundMessage
from bot.store.contacts import Contact
from content.loader import ContentStore


@dataclass
class Turn:
    """Handlers change state through ``conn`` and return ``Outbound`` messages; the inbox
    worker commits both together with the inbox row, or none of them."""

    conn: AsyncConnection
    contact: Contact
    message: InboundMessage
    settings: Settings
    now: datetime
    content: ContentStore

    @property
    def words(self) -> str:
        """The message folded for keyword matching: trimmed, single-spaced, upper case."""
        return " ".join(self.message.text.split()).upper()
