"""Coordinator broadcasts ("notices"): drafts, audiences, sending and the delivery report.

A confirmed broadcast waits as a ``pending`` row; when its time comes the broadcast
sweep expands it into one ``scheduled`` row per recipient (``bcast:{id}:{contact}``)
and the due sweep sends those at ``Priority.BULK`` like any other row: opted-out and
unreachable people are skipped, quiet hours hold a notice until morning unless it is
urgent, and nothing goes after the broadcast's expiry (the outbox row carries it too).
The report is computed from those rows and the outbox rows they became.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.messages import Outbound, Priority
from bot.segments import count_segments
from bot.store import conversations as convs
from bot.store import outbox as outbox_repo
from bot.store.contacts import Contact
from bot.store.scheduler_tables import appointments, broadcasts, schedule_prefs, scheduled
from bot.store.tables import contacts, outbox
from scheduler import queue
from scheduler.due import Job, Person, register
from scheduler.queue import Due
from scheduler.runner import REGISTRY, SweepContext

COST_PER_SEGMENT = Decimal("0.04")  # £ per SMS segment, for the preview's estimate
AUDIENCE_KINDS = ("all", "area", "queue", "buddies")


@dataclass(frozen=True)
class Audience:
    """``all`` subscribers; subscribers of an ``area`` or ``queue``; ``buddies`` (all, or
    of the queue ``name``)."""

    kind: str
    name: str | None = None

    def __str__(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind

    @classmethod
    def parse(cls, text: str) -> Audience | None:
        """``all``, ``queue default``, ``area West Sussex``… (queue names folded to lower
        case; an area keeps the map's spelling, which contacts store)."""
        kind, _, name = text.strip().partition(" ")
        kind, name = kind.lower(), name.strip()
        if kind != "area":
            name = name.lower()
        if kind not in AUDIENCE_KINDS or (kind == "all" and name):
            return None
        if kind in ("area", "queue") and not name:
            return None
        return cls(kind, name or None)


async def subscribers(conn: AsyncConnection, now: datetime, area: str | None = None) -> list[int]:
    """Everyone with daily prompts, an upcoming appointment, or notices switched on;
    with ``area``, only those who chose that area."""
    prefs_say_yes = exists().where(
        schedule_prefs.c.contact_id == contacts.c.id,
        or_(schedule_prefs.c.prompt_time.is_not(None), schedule_prefs.c.notices.is_(True)),
    )
    has_appointment = exists().where(
        appointments.c.contact_id == contacts.c.id,
        appointments.c.status == "active",
        appointments.c.starts_at > now,
    )
    query = select(contacts.c.id).where(or_(prefs_say_yes, has_appointment))
    if area is not None:
        query = query.where(contacts.c.area == area)
    return [r.id for r in await conn.execute(query.order_by(contacts.c.id))]


async def team_audience(conn: AsyncConnection, audience: Audience) -> list[int]:
    """Contact ids for the buddy-queue audiences: all buddies, buddies of a queue, and
    the people of a queue (who came in by it, or have talked to a buddy in it)."""
    if audience.kind == "buddies":
        everyone = await convs.list_buddies(conn)
        return [
            b.contact_id for b in everyone if audience.name is None or audience.name in b.queues
        ]
    if audience.kind == "queue" and audience.name:
        return await convs.people_of_queue(conn, audience.name)
    return []


async def resolve(conn: AsyncConnection, audience: Audience, now: datetime) -> list[int]:
    """Who a broadcast goes to (opted-out people included: they are skipped, and
    counted as skipped, when it is sent)."""
    if audience.kind in ("all", "area"):
        return await subscribers(conn, now, audience.name)
    return await team_audience(conn, audience)


@dataclass(frozen=True)
class Preview:
    per_channel: dict[str, int]
    segments: int
    cost: Decimal


async def preview(conn: AsyncConnection, audience: Audience, text: str, now: datetime) -> Preview:
    ids = await resolve(conn, audience, now)
    per_channel: Counter[str] = Counter()
    for chunk in range(0, len(ids), 900):  # keep IN lists within every database's limit
        rows = await conn.execute(
            select(contacts.c.channel, func.count())
            .where(
                contacts.c.id.in_(ids[chunk : chunk + 900]),
                contacts.c.opted_out.is_(False),
                contacts.c.unreachable.is_(False),
            )
            .group_by(contacts.c.channel)
        )
        per_channel.update({channel: count for channel, count in rows})
    segments = count_segments(text)
    cost = COST_PER_SEGMENT * segments * per_channel.get("sms", 0)
    return Preview(dict(sorted(per_channel.items())), segments, cost)


async def create(
    conn: AsyncConnection,
    sender: Contact,
    audience: Audience,
    text: str,
    send_at: datetime,
    expires_at: datetime,
    urgent: bool,
    now: datetime,
) -> int:
    """A draft: nothing is sent until it is confirmed."""
    result = await conn.execute(
        insert(broadcasts)
        .values(
            created_by=sender.id,
            sender_ref=sender.ref,
            audience=str(audience),
            text=text,
            urgent=urgent,
            send_at=send_at,
            expires_at=expires_at,
            status="draft",
            created_at=now,
        )
        .returning(broadcasts.c.id)
    )
    return int(result.scalar_one())


async def get(conn: AsyncConnection, broadcast_id: int) -> Any | None:
    return (await conn.execute(select(broadcasts).where(broadcasts.c.id == broadcast_id))).first()


async def confirm(conn: AsyncConnection, broadcast_id: int, now: datetime) -> bool:
    result = await conn.execute(
        update(broadcasts)
        .where(broadcasts.c.id == broadcast_id, broadcasts.c.status == "draft")
        .values(status="pending", confirmed_at=now)
    )
    return bool(result.rowcount)


async def scrap(conn: AsyncConnection, broadcast_id: int, now: datetime) -> bool:
    """Cancel a draft or a broadcast still going out; what is already sent stays sent."""
    result = await conn.execute(
        update(broadcasts)
        .where(
            broadcasts.c.id == broadcast_id,
            broadcasts.c.status.in_(("draft", "pending", "sending")),
        )
        .values(status="cancelled", cancelled_at=now)
    )
    if not result.rowcount:
        return False
    mine = and_(scheduled.c.kind == "broadcast", scheduled.c.ref_id == broadcast_id)
    await queue.cancel(conn, now, mine)
    waiting = await conn.execute(
        select(outbox.c.id)
        .join(scheduled, scheduled.c.key == outbox.c.dedupe_key)
        .where(mine, outbox.c.status == "pending", outbox.c.claimed_at.is_(None))
    )
    for (row_id,) in waiting:
        await outbox_repo.close(conn, row_id, "skipped", "cancelled")
    return True


async def expand_due(conn: AsyncConnection, now: datetime) -> int:
    """Turn each confirmed broadcast whose time has come into per-person rows."""
    due = await conn.execute(
        select(broadcasts)
        .where(broadcasts.c.status == "pending", broadcasts.c.send_at <= now)
        .with_for_update(skip_locked=True)
    )
    expanded = 0
    for b in due.all():
        audience = Audience.parse(b.audience)
        ids = await resolve(conn, audience, now) if audience else []
        await queue.add(
            conn,
            [
                queue.new_row(
                    "broadcast",
                    f"bcast:{b.id}:{contact_id}",
                    contact_id,
                    b.send_at,
                    b.expires_at,
                    now,
                    ref_id=b.id,
                    payload={"urgent": b.urgent},
                )
                for contact_id in ids
            ],
        )
        await conn.execute(
            update(broadcasts).where(broadcasts.c.id == b.id).values(status="sending")
        )
        expanded += 1
    return expanded


async def sweep_broadcasts(ctx: SweepContext, now: datetime) -> None:
    async with ctx.store.tx() as conn:
        await expand_due(conn, now)


@REGISTRY.add("broadcasts", every_seconds=5)
async def sweep(ctx: SweepContext) -> set[str]:
    await sweep_broadcasts(ctx, utcnow())
    return set()  # the due sweep sends the rows


class BroadcastJob(Job):
    kind = "broadcast"

    def held_by_quiet_hours(self, row: Due, person: Person) -> bool:
        return not row.payload.get("urgent", False)

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[Outbound] | str:
        b = await get(conn, row.ref_id or 0)
        if b is None or b.status == "cancelled":
            return "cancelled"
        return [
            Outbound(
                b.text,
                priority=Priority.BULK,
                kind="broadcast",
                meta={"tag": "broadcast", "broadcast": b.id},
                dedupe_key=row.key,
                expires_at=b.expires_at,
            )
        ]


register(BroadcastJob())


@dataclass
class Report:
    """What happened to each recipient: sent (no delivery report yet), delivered,
    failed, skipped (with why), and still pending."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return self.sent + self.delivered + self.failed + self.pending + self.skipped.total()


async def report(conn: AsyncConnection, broadcast_id: int) -> Report:
    rows = await conn.execute(
        select(
            scheduled.c.status, scheduled.c.reason, outbox.c.status, outbox.c.error, func.count()
        )
        .select_from(scheduled)
        .outerjoin(outbox, outbox.c.dedupe_key == scheduled.c.key)
        .where(scheduled.c.kind == "broadcast", scheduled.c.ref_id == broadcast_id)
        .group_by(scheduled.c.status, scheduled.c.reason, outbox.c.status, outbox.c.error)
    )
    result = Report()
    for planned, reason, out_status, error, count in rows:
        state = out_status if planned == "queued" and out_status else planned
        if state == "pending":
            result.pending += count
        elif state in ("sent", "delivered", "failed"):
            setattr(result, state, getattr(result, state) + count)
        else:  # skipped by the sweep or the dispatcher, or cancelled
            result.skipped[error or reason or state] += count
    return result


async def recent(conn: AsyncConnection, limit: int = 10) -> list[Any]:
    rows = await conn.execute(select(broadcasts).order_by(broadcasts.c.id.desc()).limit(limit))
    return list(rows)
