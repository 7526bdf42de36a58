"""What a handler is given: one inbound message, its sender, and the open transaction."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.messages import InboundMessage
from bot.store import contacts as contacts_repo
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

    async def set_flags(
        self,
        *,
        opted_out: bool | None = None,
        unreachable: bool | None = None,
        queue: str | None = None,
    ) -> None:
        """Change the sender's flags in the store and here, so this turn's replies are
        queued (or not) as the sender now stands."""
        await contacts_repo.set_flags(
            self.conn, self.contact.id, opted_out=opted_out, unreachable=unreachable, queue=queue
        )
        contact = self.contact
        self.contact = replace(
            contact,
            opted_out=contact.opted_out if opted_out is None else opted_out,
            unreachable=contact.unreachable if unreachable is None else unreachable,
            queue=contact.queue if queue is None else queue,
        )
