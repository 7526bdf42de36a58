"""The durable inbox: an inbound message is a row here before anyone acknowledges it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.messages import InboundMessage
from bot.store import contacts as contacts_repo
from bot.store.contacts import Contact
from bot.store.sql import insert_ignore
from bot.store.tables import contacts, inbox


@dataclass(frozen=True)
class InboxRow:
    id: int
    contact: Contact
    message: InboundMessage
    received_at: datetime
    attempts: int


async def record(conn: AsyncConnection, msg: InboundMessage) -> int | None:
    """Store ``msg``; returns its id, or None if this provider id was seen before (a retry)."""
    contact = await contacts_repo.get_or_create(conn, msg.channel, msg.address)
    return await insert_ignore(
        conn,
        inbox,
        {
            "channel": msg.channel.value,
            "provider_id": msg.provider_id,
            "contact_id": contact.id,
            "kind": msg.kind,
            "text": msg.text,
            "payload": msg.payload,
            "received_at": utcnow(),
            "status": "pending",
            "attempts": 0,
        },
        keys=["channel", "provider_id"],
    )


# The sender, read with their message: one query per message, not two.
_SENDER = tuple(column.label(f"sender_{column.name}") for column in contacts_repo.COLUMNS)


def _next_pending() -> Select[Any]:
    earlier = inbox.alias("earlier")
    blocked = exists().where(
        and_(
            earlier.c.contact_id == inbox.c.contact_id,
            earlier.c.status == "pending",
            earlier.c.id < inbox.c.id,
        )
    )
    return (
        select(inbox, *_SENDER)
        .join(contacts, contacts.c.id == inbox.c.contact_id)
        .where(inbox.c.status == "pending", ~blocked)
        .order_by(inbox.c.id)
        .limit(1)
        .with_for_update(skip_locked=True, of=inbox)
    )


_NEXT_PENDING = _next_pending()  # built once: the worker runs it for every message


async def claim_next(conn: AsyncConnection) -> InboxRow | None:
    """The oldest pending row whose sender has no earlier pending row (order per sender).

    On PostgreSQL the row is locked with SKIP LOCKED so several workers can share the
    inbox; an earlier row of the same sender that another worker holds still counts as
    pending, so that sender's later rows wait.
    """
    row = (await conn.execute(_NEXT_PENDING)).first()
    if row is None:
        return None
    m = row._mapping
    contact = Contact(*(m[column.name] for column in _SENDER))
    msg = InboundMessage(
        channel=m["channel"],
        address=contact.address,
        provider_id=m["provider_id"],
        kind=m["kind"],
        text=m["text"],
        payload=m["payload"] or {},
    )
    return InboxRow(m["id"], contact, msg, m["received_at"], m["attempts"])


_FINISH = (
    update(inbox)
    .where(inbox.c.id == bindparam("inbox_id"))
    .values(status=bindparam("outcome"), processed_at=bindparam("now"))
)


async def finish(conn: AsyncConnection, inbox_id: int, status: str = "done") -> None:
    await conn.execute(_FINISH, {"inbox_id": inbox_id, "outcome": status, "now": utcnow()})


async def note_attempt(conn: AsyncConnection, inbox_id: int) -> int:
    """Count a failed processing attempt; returns the attempts so far."""
    await conn.execute(
        update(inbox).where(inbox.c.id == inbox_id).values(attempts=inbox.c.attempts + 1)
    )
    result = await conn.execute(select(inbox.c.attempts).where(inbox.c.id == inbox_id))
    return int(result.scalar_one())


async def depth(conn: AsyncConnection) -> dict[str, Any]:
    rows = await conn.execute(
        select(inbox.c.channel, func.count())
        .where(inbox.c.status == "pending")
        .group_by(inbox.c.channel)
    )
    return {channel: count for channel, count in rows}
