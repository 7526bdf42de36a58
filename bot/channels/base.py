"""What every channel's sender does, and the two ways a send can fail."""

from __future__ import annotations

from typing import Literal, Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store import outbox as outbox_repo
from bot.store.outbox import OutRow


class TransientSendError(Exception):
    """Worth retrying: a timeout, a 5xx, a 429. ``retry_after`` if the provider said."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """Never worth retrying. ``contact_state`` says what it means for the person."""

    def __init__(
        self, reason: str, contact_state: Literal["opted_out", "unreachable"] | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.contact_state = contact_state


class Sender(Protocol):
    channel: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def split(self, text: str) -> list[str]:
        """Cut a long text into the parts this channel can carry."""
        ...

    async def send(self, row: OutRow) -> str | None:
        """Deliver one row (waiting for rate limits); the provider's message id."""
        ...

    async def record_sent(
        self, conn: AsyncConnection, row: OutRow, provider_id: str | None
    ) -> None:
        """Mark the row sent, inside the caller's transaction."""
        ...

    def after_sent(self, row: OutRow) -> None:
        """The row's ``record_sent`` has committed."""
        ...


class RecordsSent:
    """The usual ``record_sent``: just mark the outbox row."""

    async def record_sent(
        self, conn: AsyncConnection, row: OutRow, provider_id: str | None
    ) -> None:
        await outbox_repo.mark_sent(conn, row.id, provider_id)

    def after_sent(self, row: OutRow) -> None:
        return None
