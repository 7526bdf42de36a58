"""The due sweep: claims pending ``scheduled`` rows and turns them into outbox rows in
the same transaction, so a crash at any point leaves either both or neither.

Each kind of row (reminder, prompt, broadcast…) is a ``Job`` that says what to send.
The sweep applies the rules common to all of them: a contact who opted out or cannot
be reached is skipped; a row past its grace is skipped as missed (the service was
down); a row held by quiet hours moves to the end of them, or is skipped if that is
past its grace. Outbox ``dedupe_key`` = the row's key, so even two sweeps racing on
a database without row locks cannot send twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.config import Settings
from bot.messages import Outbound
from bot.outgoing import Splitters
from bot.store import contacts as contacts_repo
from bot.store import outbox as outbox_repo
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.scheduler_tables import schedule_prefs
from bot.store.tables import contacts
from scheduler import queue
from scheduler.localtime import zone_of
from scheduler.prefs import Prefs, from_mapping
from scheduler.queue import Due
from scheduler.runner import REGISTRY, SweepContext

BATCH = 5000


@dataclass(frozen=True)
class Person:
    contact: Contact
    prefs: Prefs
    zone: ZoneInfo


class Job:
    """What one kind of scheduled row sends. Subclasses set ``kind`` and ``render``."""

    kind: ClassVar[str]

    def held_by_quiet_hours(self, row: Due, person: Person) -> bool:
        return False

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[Outbound] | str:
        """The messages to send (keyed with ``row.key``), or why the row is skipped."""
        raise NotImplementedError

    async def follow(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[dict[str, Any]]:
        """Rows to add once this one is done, sent or skipped (tomorrow's prompt)."""
        return []


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    JOBS[job.kind] = job
    return job


_PEOPLE_COLUMNS = (
    contacts.c.id,
    contacts.c.channel,
    contacts.c.address,
    contacts.c.ref,
    contacts.c.opted_out,
    contacts.c.unreachable,
    contacts.c.timezone,
    contacts.c.queue,
    schedule_prefs.c.contact_id.label("has_prefs"),
    *(c for c in schedule_prefs.c if c.name not in ("contact_id", "updated_at")),
)


async def load_people(
    conn: AsyncConnection, ids: set[int], settings: Settings
) -> dict[int, Person]:
    """Each contact with their settings, in one query (only the columns needed)."""
    rows = await conn.execute(
        select(*_PEOPLE_COLUMNS)
        .outerjoin(schedule_prefs, schedule_prefs.c.contact_id == contacts.c.id)
        .where(contacts.c.id.in_(ids))
    )
    people: dict[int, Person] = {}
    for r in rows:
        m = r._mapping
        contact = contacts_repo.from_row(r)
        prefs = from_mapping(m) if m["has_prefs"] is not None else Prefs()
        people[contact.id] = Person(contact, prefs, zone_of(contact, settings))
    return people


async def _verdict(
    conn: AsyncConnection, job: Job, row: Due, person: Person, now: datetime
) -> list[Outbound] | str | datetime:
    """Messages to send, a reason to skip, or the time to hold the row until."""
    if person.contact.unreachable:
        return "unreachable"
    if person.contact.opted_out:
        return "opted_out"
    if now > row.grace_until:
        return "missed"
    if job.held_by_quiet_hours(row, person) and person.prefs.quiet.contains(
        now.astimezone(person.zone).time()
    ):
        release = person.prefs.quiet.release(now, person.zone)
        return release if release <= row.grace_until else "quiet_hours_expired"
    return await job.render(conn, row, person, now)


async def process(
    conn: AsyncConnection, rows: list[Due], settings: Settings, splitters: Splitters, now: datetime
) -> set[str]:
    people = await load_people(conn, {r.contact_id for r in rows}, settings)
    sends: list[tuple[Contact, Outbound]] = []
    done: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    follow: list[dict[str, Any]] = []
    for row in rows:
        job, person = JOBS[row.kind], people[row.contact_id]
        verdict = await _verdict(conn, job, row, person, now)
        if isinstance(verdict, datetime):
            await queue.hold(conn, row.id, verdict)
            continue
        if isinstance(verdict, str):
            done["skipped", verdict].append(row.id)
        else:
            sends.extend((person.contact, out) for out in verdict)
            done["queued", None].append(row.id)
        follow.extend(await job.follow(conn, row, person, now))
    channels = await outbox_repo.enqueue_many(conn, splitters, sends)
    for (status, reason), ids in done.items():
        await queue.finish(conn, ids, status, reason, now)
    await queue.add(conn, follow)
    return channels


async def sweep_due(
    store: Store, settings: Settings, splitters: Splitters, now: datetime, batch: int = BATCH
) -> set[str]:
    """Send everything due at ``now``, one committed batch at a time."""
    channels: set[str] = set()
    while True:
        async with store.tx() as conn:
            rows = await queue.claim(conn, now, batch)
            if not rows:
                return channels
            channels |= await process(conn, rows, settings, splitters, now)


@REGISTRY.add("due", every_seconds=2)
async def sweep(ctx: SweepContext) -> set[str]:
    return await sweep_due(ctx.store, ctx.settings, ctx.splitters, utcnow())
