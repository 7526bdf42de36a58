"""Contacts: one person on one channel address. Addresses never leave this module's
callers except to the channel that delivers to them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, fields

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.store.sql import insert_ignore
from bot.store.tables import contacts, inbox, outbox

# No 0/O, 1/I/L: refs get read aloud and typed on small keyboards.
_REF_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def new_ref() -> str:
    return "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))


@dataclass(frozen=True)
class Contact:
    id: int
    channel: str
    address: str
    ref: str
    opted_out: bool
    unreachable: bool
    timezone: str | None
    queue: str | None = None

    @property
    def reachable(self) -> bool:
        return not (self.opted_out or self.unreachable)


# A Contact's columns in the order of its fields: selected alongside other tables'
# (labelled if names clash), a row's values make ``Contact(*values)``.
COLUMNS = tuple(contacts.c[f.name] for f in fields(Contact))


def from_row(row: object) -> Contact:
    """A Contact from any result row that has the contacts table's columns."""
    m = row._mapping  # type: ignore[attr-defined]
    return Contact(*(m[column.name] for column in COLUMNS))


# Built once: every inbound text looks its sender up, and building a statement costs
# about as much CPU as running it.
_BY_ID = select(contacts).where(contacts.c.id == bindparam("contact_id"))
_BY_ADDRESS = select(contacts).where(
    contacts.c.channel == bindparam("channel"), contacts.c.address == bindparam("address")
)


async def get(conn: AsyncConnection, contact_id: int) -> Contact | None:
    row = (await conn.execute(_BY_ID, {"contact_id": contact_id})).first()
    return from_row(row) if row else None


async def find(conn: AsyncConnection, channel: str, address: str) -> Contact | None:
    row = (await conn.execute(_BY_ADDRESS, {"channel": channel, "address": address})).first()
    return from_row(row) if row else None


async def get_or_create(conn: AsyncConnection, channel: str, address: str) -> Contact:
    found = await find(conn, channel, address)
    if found:
        return found
    now = utcnow()
    while True:
        await insert_ignore(
            conn,
            contacts,
            {
                "channel": channel,
                "address": address,
                "ref": new_ref(),
                "opted_out": False,
                "unreachable": False,
                "created_at": now,
                "updated_at": now,
            },
        )
        # Either we inserted it, another writer did, or (rarely) the ref clashed: retry.
        found = await find(conn, channel, address)
        if found:
            return found


async def set_flags(
    conn: AsyncConnection,
    contact_id: int,
    *,
    opted_out: bool | None = None,
    unreachable: bool | None = None,
    queue: str | None = None,
) -> None:
    values: dict[str, object] = {"updated_at": utcnow()}
    if queue is not None:
        values["queue"] = queue
    if opted_out is not None:
        values["opted_out"] = opted_out
    if unreachable is not None:
        values["unreachable"] = unreachable
    await conn.execute(update(contacts).where(contacts.c.id == contact_id).values(**values))


async def area_of(conn: AsyncConnection, contact_id: int) -> str | None:
    """The area a person chose for local notices, if any."""
    found = await conn.execute(select(contacts.c.area).where(contacts.c.id == contact_id))
    return found.scalar_one_or_none()


async def set_area(conn: AsyncConnection, contact_id: int, area: str | None) -> None:
    await conn.execute(
        update(contacts).where(contacts.c.id == contact_id).values(area=area, updated_at=utcnow())
    )


async def forget(conn: AsyncConnection, contact_id: int) -> None:
    """Erase what a person said to us: earlier inbound text (rows already handled),
    outbound text, and the reference anyone may have noted."""
    await conn.execute(
        update(inbox)
        .where(inbox.c.contact_id == contact_id, inbox.c.status != "pending")
        .values(text="", payload={})
    )
    await conn.execute(
        update(outbox)
        .where(outbox.c.contact_id == contact_id, outbox.c.status != "pending")
        .values(text="")
    )
    await conn.execute(
        update(contacts)
        .where(contacts.c.id == contact_id)
        .values(ref=new_ref(), updated_at=utcnow())
    )
