"""The due sweep: claims pending ``scheduled`` rows and turns them into outbox rows in
the same transaction, so a crash at any point leaves either both or neither.

Built for 100,000 prompts due in one minute (``bench/schedule.py``): the due rows are
listed by a read, put in contact order (see ``queue.due_ids``) and claimed in batches
of ``BATCH``, each its own short transaction, so replies and webhooks get the SQLite
writer between batches; a message going to many people is written set-based.

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
from datetime import datetime, time
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import utcnow
from bot.config import Settings
from bot.messages import Outbound
from bot.outgoing import Splitters
from bot.store import contacts as contacts_repo
from bot.store import outbox as outbox_repo
from bot.store.contacts import Contact
from bot.store.engine import Store
from bot.store.scheduler_tables import schedule_prefs, scheduled
from bot.store.sql import among, pairs
from bot.store.tables import contacts
from scheduler import queue
from scheduler.localtime import zone_of
from scheduler.prefs import Prefs, from_mapping
from scheduler.queue import Due
from scheduler.runner import REGISTRY, SweepContext

BATCH = 2000  # rows per transaction: each holds the SQLite writer ~85 ms (bench)
ROUND = 50_000  # due rows listed (and put in contact order) at a time
SHARED = 20  # recipients of one message from which it is written set-based


@dataclass(frozen=True)
class Person:
    contact: Contact
    prefs: Prefs
    zone: ZoneInfo


Verdict = list[Outbound] | str | datetime  # send these, skip (why), or hold until


class Job:
    """What one kind of scheduled row sends. Subclasses set ``kind`` and ``render`` (or
    ``render_many``)."""

    kind: ClassVar[str]

    def held_by_quiet_hours(self, row: Due, person: Person) -> bool:
        return False

    async def render(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> Verdict:
        """The messages to send (keyed with ``row.key``), why the row is skipped, or
        the time to hold it until."""
        raise NotImplementedError

    async def render_many(
        self, conn: AsyncConnection, due: list[tuple[Due, Person]], now: datetime
    ) -> list[Verdict]:
        """``render`` for each of a batch's rows of this kind, in order. A job whose
        rows all need the same kind of data overrides this to read it for the whole
        batch at once (two queries for 2,000 people, not 4,000)."""
        return [await self.render(conn, row, person, now) for row, person in due]

    async def follow(
        self, conn: AsyncConnection, row: Due, person: Person, now: datetime
    ) -> list[dict[str, Any]]:
        """Rows to add once this one is done, sent or skipped (the next check-up)."""
        return []


def unless_chosen_in_quiet_hours(chosen: time | None, person: Person) -> bool:
    """``held_by_quiet_hours`` for a send at a time the person chose: held, unless they
    chose it inside their quiet hours (then they want it then)."""
    return chosen is None or not person.prefs.quiet.contains(chosen)


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    JOBS[job.kind] = job
    return job


# A person's settings, read after their contact's columns.
_PREFS_COLUMNS = (
    schedule_prefs.c.contact_id.label("has_prefs"),
    *(c for c in schedule_prefs.c if c.name not in ("contact_id", "planned_until", "updated_at")),
)


async def load_people(
    conn: AsyncConnection, ids: set[int], settings: Settings
) -> dict[int, Person]:
    """Each contact with their settings, in one query (only the columns needed)."""
    listed = sorted(ids)
    # Settings filtered too: else PostgreSQL reads everyone's to join a few.
    mine = and_(
        schedule_prefs.c.contact_id == contacts.c.id,
        among(conn, schedule_prefs.c.contact_id, listed),
    )
    rows = await conn.execute(
        select(*contacts_repo.COLUMNS, *_PREFS_COLUMNS)
        .select_from(contacts.outerjoin(schedule_prefs, mine))
        .where(among(conn, contacts.c.id, listed))
    )
    width = len(contacts_repo.COLUMNS)
    people: dict[int, Person] = {}
    for r in rows:
        contact = Contact(*r[:width])
        m = r._mapping
        prefs = from_mapping(m) if m["has_prefs"] is not None else Prefs()
        people[contact.id] = Person(contact, prefs, zone_of(contact, settings))
    return people


def _rules(job: Job, row: Due, person: Person, now: datetime) -> str | datetime | None:
    """The rules common to every kind: a reason to skip the row, the time to hold it
    until, or None when it is to be sent."""
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
    return None


async def process(
    conn: AsyncConnection, rows: list[Due], settings: Settings, splitters: Splitters, now: datetime
) -> set[str]:
    people = await load_people(conn, {r.contact_id for r in rows}, settings)
    sends: list[tuple[Due, Contact, list[Outbound]]] = []
    done: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    follow: list[dict[str, Any]] = []

    async def settle(job: Job, row: Due, person: Person, verdict: Verdict) -> None:
        if isinstance(verdict, datetime):
            await queue.hold(conn, row.id, verdict)
            return
        if isinstance(verdict, str):
            done["skipped", verdict].append(row.id)
        else:
            sends.append((row, person.contact, verdict))
            done["queued", None].append(row.id)
        follow.extend(await job.follow(conn, row, person, now))

    to_render: dict[str, list[tuple[Due, Person]]] = defaultdict(list)
    for row in rows:
        job, person = JOBS[row.kind], people[row.contact_id]
        ruled = _rules(job, row, person, now)
        if ruled is None:
            to_render[row.kind].append((row, person))
        else:
            await settle(job, row, person, ruled)
    for kind, due in to_render.items():
        job = JOBS[kind]
        verdicts = await job.render_many(conn, due, now)
        for (row, person), verdict in zip(due, verdicts, strict=True):
            await settle(job, row, person, verdict)
    channels = await enqueue(conn, splitters, sends)
    for (status, reason), ids in done.items():
        await queue.finish(conn, ids, status, reason, now)
    await queue.add(conn, follow)
    return channels


async def enqueue(
    conn: AsyncConnection, splitters: Splitters, sends: list[tuple[Due, Contact, list[Outbound]]]
) -> set[str]:
    """Queue the messages of a batch's rows; the channels that got some. A row's first
    message, when keyed by the row and going to ``SHARED`` or more people (a day's
    prompt), is written set-based: one INSERT … SELECT for all such messages of the
    batch, as per-row parameters would cost more than the rows themselves; everything
    else after, in order (so a row's messages keep theirs)."""
    groups: dict[tuple[Any, ...], list[list[tuple[Due, Contact, Outbound]]]] = defaultdict(list)
    group_of: list[list[tuple[Due, Contact, Outbound]] | None] = []
    for row, contact, outs in sends:
        if not outs or outs[0].dedupe_key != row.key or contact.channel not in splitters:
            group_of.append(None)
            continue
        out = outs[0]
        alike = groups[
            contact.channel, out.text, out.kind, out.priority, out.expires_at, out.not_before
        ]
        same = next((same for same in alike if same[0][2].meta == out.meta), None)
        if same is None:
            alike.append(same := [])
        same.append((row, contact, out))
        group_of.append(same)
    single: list[tuple[Contact, Outbound]] = []
    for (_, contact, outs), same in zip(sends, group_of, strict=True):
        shared = same is not None and len(same) >= SHARED
        single.extend((contact, out) for out in (outs[1:] if shared else outs))
    messages: list[tuple[str, outbox_repo.Split, Outbound]] = []
    members: list[tuple[int, int]] = []  # (message index, row id)
    for (channel, *_), alike in groups.items():
        for same in alike:
            if len(same) >= SHARED:
                members += [(len(messages), row.id) for row, _, _ in same]
                messages.append((channel, splitters[channel], same[0][2]))
    if messages:
        to = pairs(conn, members, ("message", "id"))
        recipients = select(to.c.message, scheduled.c.contact_id, scheduled.c.key).join_from(
            to, scheduled, scheduled.c.id == to.c.id
        )
        await outbox_repo.enqueue_each(conn, messages, recipients)
    channels = {channel for channel, _, _ in messages}
    return channels | await outbox_repo.enqueue_many(conn, splitters, single)


async def sweep_due(
    store: Store, settings: Settings, splitters: Splitters, now: datetime, batch: int = BATCH
) -> set[str]:
    """Send everything due at ``now``: list the due rows (a read: the writer stays
    free), then claim and process them ``batch`` at a time, each batch committed on its
    own so the writer is never held for long; until a round finds nothing to claim."""
    channels: set[str] = set()
    while True:
        async with store.read() as conn:
            ids = await queue.due_ids(conn, now, ROUND)
        claimed_any = False
        for start in range(0, len(ids), batch):
            async with store.tx() as conn:
                rows = await queue.claim(conn, ids[start : start + batch])
                if rows:
                    channels |= await process(conn, rows, settings, splitters, now)
            claimed_any = claimed_any or bool(rows)
        if not claimed_any:
            return channels


@REGISTRY.add("due", every_seconds=2)
async def sweep(ctx: SweepContext) -> set[str]:
    return await sweep_due(ctx.store, ctx.settings, ctx.splitters, utcnow())
