"""The inbox worker: hands each stored inbound message to the handlers, in order per
sender, and commits the handlers' effects, their outbox rows and the inbox row's
"done" together, so a crash at any point means the message is simply handled again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress

from bot import outgoing
from bot.config import Settings
from bot.messages import Outbound
from bot.store import contacts as contacts_repo
from bot.store import inbox as inbox_repo
from bot.store.engine import Store
from content import texts
from content.loader import ContentStore
from handlers.turn import Turn

log = logging.getLogger("nightowl.worker")

Route = Callable[[Turn], Awaitable[list[Outbound]]]
MAX_ATTEMPTS = 3


class InboxWorker:
    def __init__(
        self,
        store: Store,
        settings: Settings,
        route: Route,
        splitters: outgoing.Splitters,
        notify: Callable[[set[str]], None],
        content: ContentStore,
    ) -> None:
        self.store = store
        self.settings = settings
        self.route = route
        self.splitters = splitters
        self.notify = notify
        self.content = content
        self.wakeup = asyncio.Event()

    async def run(self) -> None:
        while True:
            self.wakeup.clear()
            try:
                handled = await self.process_one()
            except Exception:  # the database itself failed: wait, then carry on
                log.exception("inbox worker error")
                handled = False
            if not handled:
                with suppress(TimeoutError):
                    await asyncio.wait_for(self.wakeup.wait(), timeout=1.0)

    async def process_one(self) -> bool:
        """Handle the next inbound message, if any; False when the inbox is empty."""
        claimed: tuple[int, int] | None = None  # (inbox id, contact id)
        try:
            async with self.store.tx() as conn:
                row = await inbox_repo.claim_next(conn)
                if row is None:
                    return False
                claimed = (row.id, row.contact_id)
                contact = await contacts_repo.get(conn, row.contact_id)
                assert contact is not None
                # "Now" is when the person wrote: waits and hours count from then,
                # not from whenever the worker got to the message.
                turn = Turn(
                    conn, contact, row.message, self.settings, row.received_at, self.content
                )
                outs = await self.route(turn)
                # The handler may have changed the sender (opted out, say): re-read.
                sender = await contacts_repo.get(conn, contact.id)
                channels = await outgoing.write(conn, self.splitters, sender, outs, inbox_id=row.id)
                await inbox_repo.finish(conn, row.id)
        except Exception:
            if claimed is None:
                raise
            log.exception("handler failed", extra={"inbox_id": claimed[0]})
            channels = await self._after_failure(*claimed)
        self.notify(channels)
        return True

    async def _after_failure(self, inbox_id: int, contact_id: int) -> set[str]:
        """Count the failure; after a few, give up on the message and say sorry."""
        async with self.store.tx() as conn:
            attempts = await inbox_repo.note_attempt(conn, inbox_id)
            if attempts < MAX_ATTEMPTS:
                return set()
            await inbox_repo.finish(conn, inbox_id, status="failed")
            contact = await contacts_repo.get(conn, contact_id)
            return await outgoing.write(
                conn,
                self.splitters,
                contact,
                [Outbound(texts.render("general.error"))],
                inbox_id=inbox_id,
            )
