"""The durable outbox: handlers write rows, dispatchers claim, send and record them.

A claim pushes ``next_attempt_at`` forward by a lease, so a row whose sender died
mid-send becomes due again by itself (at-least-once); ``release_claims`` ends the
leases at once when a single-writer service restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.messages import Outbound
from bot.segments import count_segments
from bot.store.contacts import Contact
from bot.store.sql import insert_ignore, insert_many_ignore, insert_select_ignore
from bot.store.tables import contacts, outbox

# Sent even to an opted-out contact: the confirmation of the opt-out itself.
COMPLIANCE_KIND = "compliance"

# Twilio callback statuses ranked, so a late "sent" never overwrites "delivered".
_STATUS_RANK = {"pending": 0, "sent": 1, "delivered": 2, "failed": 3, "skipped": 3}


@dataclass(frozen=True)
class OutRow:
    id: int
    contact_id: int
    address: str
    kind: str
    text: str
    meta: dict[str, Any]
    segments: int
    attempts: int
    created_at: datetime
    expires_at: datetime | None
    contact_opted_out: bool
    contact_unreachable: bool


Split = Callable[[str], list[str]]


def may_send(contact: Contact, out: Outbound) -> bool:
    """Nothing goes to a contact we cannot reach, or who opted out (bar the confirmation)."""
    return not (contact.unreachable or (contact.opted_out and out.kind != COMPLIANCE_KIND))


def _rows(
    contact: Contact,
    out: Outbound,
    parts: list[tuple[str, int]],
    now: datetime,
    inbox_id: int | None = None,
) -> list[dict[str, Any]]:
    """The rows ``out`` becomes: one per (part, segments); later parts get ``key#i``."""
    key = out.dedupe_key
    return [
        _part(out, i, part, segments, now)
        | {
            "contact_id": contact.id,
            "channel": contact.channel,
            "inbox_id": inbox_id,
            "dedupe_key": key if i == 0 or key is None else f"{key}#{i}",
        }
        for i, (part, segments) in enumerate(parts)
    ]


def _part(out: Outbound, i: int, part: str, segments: int, now: datetime) -> dict[str, Any]:
    """What part ``i`` of ``out`` is, whoever it goes to."""
    return {
        "kind": out.kind,
        "priority": int(out.priority),
        "text": part,
        "meta": out.meta if i == 0 else {},
        "segments": segments,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": max(now, out.not_before) if out.not_before else now,
        "expires_at": out.expires_at,
        "created_at": now,
        "updated_at": now,
    }


async def enqueue(
    conn: AsyncConnection,
    contact: Contact,
    out: Outbound,
    split: Split,
    *,
    inbox_id: int | None = None,
) -> list[int]:
    """Write ``out`` for ``contact`` as one row per part; nothing for a contact we must
    not or cannot reach. A repeated ``dedupe_key`` writes nothing the second time."""
    if not may_send(contact, out):
        return []
    parts = [(part, count_segments(part)) for part in split(out.text)]
    ids: list[int] = []
    for row in _rows(contact, out, parts, utcnow(), inbox_id):
        keys = ["dedupe_key"] if row["dedupe_key"] else None
        new_id = await insert_ignore(conn, outbox, row, keys=keys)
        if new_id is not None:
            ids.append(new_id)
    return ids


async def enqueue_many(
    conn: AsyncConnection,
    splitters: Mapping[str, Split],
    sends: Iterable[tuple[Contact, Outbound]],
) -> set[str]:
    """Queue many keyed messages in one executemany (a sweep's 100,000 prompts: one
    INSERT each would cost about 0.7 ms a row on SQLite); the channels that got some."""
    now = utcnow()
    # Thousands of people get the same few texts: split and count each text once.
    cuts: dict[tuple[str, str], list[tuple[str, int]]] = {}
    rows: list[dict[str, Any]] = []
    for contact, out in sends:
        split = splitters.get(contact.channel)
        if split is None or not may_send(contact, out):
            continue
        cut = cuts.get((contact.channel, out.text))
        if cut is None:
            cut = cuts[contact.channel, out.text] = [
                (p, count_segments(p)) for p in split(out.text)
            ]
        rows += _rows(contact, out, cut, now)
    await insert_many_ignore(conn, outbox, rows, "dedupe_key")
    return {row["channel"] for row in rows}


async def enqueue_each(
    conn: AsyncConnection,
    messages: Sequence[tuple[str, Split, Outbound]],
    recipients: Select[int, int, str],
) -> None:
    """Queue ``messages`` (each with its channel and splitter) for the (message index,
    contact id, dedupe key) rows ``recipients`` selects, with one INSERT … SELECT in
    all: for the same few messages to many people at once (a day's prompts), where
    per-row parameters cost more than the rows, and a statement per message adds up on
    PostgreSQL. The caller has checked ``may_send`` for each; a repeated key writes
    nothing. A person's parts are written in order."""
    now = utcnow()
    parts = [
        select(
            literal(index, Integer).label("message"),
            literal(i, Integer).label("part"),
            literal("" if i == 0 else f"#{i}").label("suffix"),
            *(
                literal(value, outbox.c[name].type).label(name)
                for name, value in (
                    _part(out, i, part, count_segments(part), now) | {"channel": channel}
                ).items()
            ),
        )
        for index, (channel, split, out) in enumerate(messages)
        for i, part in enumerate(split(out.text))
    ]
    # SQLite allows 500 SELECTs in a compound: a sweep's batch makes a few dozen.
    table = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("parts")
    to = recipients.subquery("recipients")
    message, contact_id, key = to.c
    columns = [c for c in table.c if c.name not in ("message", "part", "suffix")]
    await insert_select_ignore(
        conn,
        outbox,
        select(
            contact_id.label("contact_id"),
            (key + table.c.suffix).label("dedupe_key"),
            *columns,
        )
        .join_from(to, table, table.c.message == message)
        .order_by(contact_id, table.c.part),
        "dedupe_key",
    )


_ANY_DUE = (
    select(outbox.c.id)
    .where(
        outbox.c.channel == bindparam("channel"),
        outbox.c.status == "pending",
        outbox.c.next_attempt_at <= bindparam("now"),
    )
    .limit(1)
)


async def any_due(conn: AsyncConnection, channel: str) -> bool:
    """Whether ``claim`` would find anything (cheap, and needs no write transaction)."""
    found = await conn.execute(_ANY_DUE, {"channel": channel, "now": utcnow()})
    return found.first() is not None


def _claimable() -> Select[Any]:
    """Due rows of channel ``:channel`` at ``:now``, at most ``:limit`` (see ``claim``)."""
    now: BindParameter[datetime] = bindparam("now")
    ahead = outbox.alias("ahead")
    waits_behind = exists().where(
        and_(
            ahead.c.contact_id == outbox.c.contact_id,
            ahead.c.status == "pending",
            or_(ahead.c.attempts > 0, ahead.c.next_attempt_at <= now),
            or_(
                ahead.c.priority < outbox.c.priority,
                and_(ahead.c.priority == outbox.c.priority, ahead.c.id < outbox.c.id),
            ),
        )
    )
    return (
        select(outbox, contacts.c.address, contacts.c.opted_out, contacts.c.unreachable)
        .join(contacts, contacts.c.id == outbox.c.contact_id)
        .where(
            outbox.c.channel == bindparam("channel"),
            outbox.c.status == "pending",
            outbox.c.next_attempt_at <= now,
            ~waits_behind,
        )
        .order_by(outbox.c.priority, outbox.c.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=outbox)
    )


# Built once: each dispatcher runs them for every message it sends.
_CLAIMABLE = _claimable()
_LEASE = (
    update(outbox)
    .where(outbox.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        claimed_at=bindparam("now"),
        next_attempt_at=bindparam("lease_until"),
        attempts=outbox.c.attempts + 1,
        updated_at=bindparam("now"),
    )
)
_SENT = (
    update(outbox)
    .where(outbox.c.id == bindparam("row_id"))
    .values(
        status="sent",
        provider_id=bindparam("sent_as"),
        sent_at=bindparam("now"),
        claimed_at=None,
        updated_at=bindparam("now"),
    )
)


async def claim(conn: AsyncConnection, channel: str, limit: int, lease: timedelta) -> list[OutRow]:
    """Due rows for ``channel``, best priority first, at most one in flight per contact
    and in order per contact (a reply may overtake that contact's bulk messages). A row
    queued for later (``not_before``, never tried yet) holds up nobody meanwhile."""
    now = utcnow()
    rows = (await conn.execute(_CLAIMABLE, {"channel": channel, "now": now, "limit": limit})).all()
    if not rows:
        return []
    ids = [r._mapping["id"] for r in rows]
    await conn.execute(_LEASE, {"ids": ids, "now": now, "lease_until": now + lease})
    return [
        OutRow(
            id=m["id"],
            contact_id=m["contact_id"],
            address=m["address"],
            kind=m["kind"],
            text=m["text"],
            meta=m["meta"] or {},
            segments=m["segments"],
            attempts=m["attempts"] + 1,
            created_at=m["created_at"],
            expires_at=m["expires_at"],
            contact_opted_out=m["opted_out"],
            contact_unreachable=m["unreachable"],
        )
        for m in (r._mapping for r in rows)
    ]


async def mark_sent(conn: AsyncConnection, row_id: int, provider_id: str | None) -> None:
    await conn.execute(_SENT, {"row_id": row_id, "sent_as": provider_id, "now": utcnow()})


async def retry_later(conn: AsyncConnection, row_id: int, delay: float, error: str) -> None:
    now = utcnow()
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id)
        .values(
            next_attempt_at=now + timedelta(seconds=delay),
            claimed_at=None,
            error=error[:64],
            updated_at=now,
        )
    )


async def close(conn: AsyncConnection, row_id: int, status: str, error: str) -> None:
    """End a row without sending it: ``failed`` or ``skipped``, with the reason."""
    await conn.execute(
        update(outbox)
        .where(outbox.c.id == row_id)
        .values(status=status, error=error[:64], claimed_at=None, updated_at=utcnow())
    )


async def withdraw(conn: AsyncConnection, contact_id: int, kind: str) -> None:
    """Skip a contact's unsent messages of ``kind`` (prepared ahead, now unwanted)."""
    await conn.execute(
        update(outbox)
        .where(
            outbox.c.contact_id == contact_id,
            outbox.c.kind == kind,
            outbox.c.status == "pending",
            outbox.c.claimed_at.is_(None),
        )
        .values(status="skipped", error="withdrawn", updated_at=utcnow())
    )


async def release_claims(conn: AsyncConnection) -> int:
    """Make every claimed row due now (only safe when no other instance is sending)."""
    result = await conn.execute(
        update(outbox)
        .where(outbox.c.status == "pending", outbox.c.claimed_at.is_not(None))
        .values(claimed_at=None, next_attempt_at=utcnow())
    )
    return result.rowcount


async def apply_delivery_status(
    conn: AsyncConnection, channel: str, provider_id: str, status: str, error: str | None
) -> int | None:
    """Record a provider's delivery report; returns the row's contact id, or None if the
    provider id is unknown. Reports can arrive out of order: a status never goes back."""
    row = (
        await conn.execute(
            select(outbox.c.id, outbox.c.status, outbox.c.contact_id).where(
                outbox.c.channel == channel, outbox.c.provider_id == provider_id
            )
        )
    ).first()
    if row is None:
        return None
    if _STATUS_RANK[status] > _STATUS_RANK.get(row.status, 0):
        values: dict[str, object] = {"status": status, "updated_at": utcnow()}
        if error:
            values["error"] = error[:64]
        await conn.execute(update(outbox).where(outbox.c.id == row.id).values(**values))
    return int(row.contact_id)


async def depth(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(
        select(outbox.c.channel, func.count())
        .where(outbox.c.status == "pending")
        .group_by(outbox.c.channel)
    )
    return {channel: count for channel, count in rows}


async def sent_meta(conn: AsyncConnection, contact_id: int, provider_id: str) -> dict[str, Any]:
    """What we attached to a message we sent this contact (a Telegram reply names it)."""
    row = (
        await conn.execute(
            select(outbox.c.meta).where(
                outbox.c.contact_id == contact_id, outbox.c.provider_id == provider_id
            )
        )
    ).first()
    return dict(row.meta or {}) if row else {}
