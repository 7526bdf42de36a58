"""Turning a handler's ``Outbound`` messages into outbox rows (used by the inbox worker
and by scheduled jobs alike)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound
from bot.store import contacts as contacts_repo
from bot.store import outbox as outbox_repo
from bot.store.contacts import Contact

Splitters = Mapping[str, Callable[[str], list[str]]]


async def write(
    conn: AsyncConnection,
    splitters: Splitters,
    sender: Contact | None,
    outs: Iterable[Outbound],
    *,
    inbox_id: int | None = None,
) -> set[str]:
    """Queue every message; returns the channels that now have something to send.

    A message for a channel that is switched off is dropped: it could never be sent.
    """
    channels: set[str] = set()
    for out in outs:
        target = sender if out.to is None else await contacts_repo.get(conn, out.to)
        if target is None or target.channel not in splitters:
            continue
        if await outbox_repo.enqueue(
            conn, target, out, splitters[target.channel], inbox_id=inbox_id
        ):
            channels.add(target.channel)
    return channels
