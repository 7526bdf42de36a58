"""Buddies, invites, rota and conversations: the store side of the buddy queues."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, union, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.buddy_tables import (
    awaiting,
    blocked,
    buddies,
    conversation_messages,
    conversations,
    invites,
    rota,
)
from bot.store.sql import insert_ignore
from bot.store.tables import contacts

_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def random_code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


@dataclass(frozen=True)
class Buddy:
    id: int
    contact_id: int
    handle: str
    capacity: int
    queues: list[str]
    on_duty: bool
    fallback: bool
    active: bool


@dataclass(frozen=True)
class Conversation:
    id: int
    texter_id: int
    queue: str
    pseudonym: str
    status: str
    buddy_id: int | None
    urgent: bool
    triage: str | None
    slow: bool
    requested_buddy_id: int | None
    created_at: datetime
    queued_at: datetime
    claimed_at: datetime | None
    first_reply_at: datetime | None
    last_activity_at: datetime
    escalation: int
    reassured_at: datetime | None
    silence_checked_at: datetime | None
    pass_note: str | None
    handover_note: str | None
    feedback: int | None
    feedback_pending: bool

    @property
    def label(self) -> str:
        """How buddies see the texter: never a number or a name."""
        return f"Owl-{self.pseudonym}"


def _buddy(row: Any) -> Buddy:
    m = row._mapping
    return Buddy(**{f: m[f] for f in Buddy.__dataclass_fields__})


def _conversation(row: Any) -> Conversation:
    m = row._mapping
    return Conversation(**{f: m[f] for f in Conversation.__dataclass_fields__})


# ----------------------------------------------------------------------- buddies


# The lookups every relayed text makes, built once (building costs about as much CPU as
# running them).
_BUDDY_OF_CONTACT = select(buddies).where(
    buddies.c.contact_id == bindparam("contact_id"), buddies.c.active.is_(True)
)
_BUDDY_BY_ID = select(buddies).where(buddies.c.id == bindparam("buddy_id"))
_UPDATE_BUDDY = update(buddies).where(buddies.c.id == bindparam("buddy_id"))
_OPEN_FOR_TEXTER = select(conversations).where(
    conversations.c.texter_id == bindparam("texter_id"),
    conversations.c.status.in_(("waiting", "active")),
)
_CONVERSATION_BY_ID = select(conversations).where(
    conversations.c.id == bindparam("conversation_id")
)
_ASKED = select(awaiting).where(awaiting.c.contact_id == bindparam("contact_id"))
_ACTIVE_FOR_BUDDY = (
    select(conversations)
    .where(conversations.c.buddy_id == bindparam("buddy_id"), conversations.c.status == "active")
    .order_by(conversations.c.last_activity_at.desc(), conversations.c.id.desc())
)
_ADD_MESSAGE = insert(conversation_messages)
_UPDATE_CONVERSATION = update(conversations).where(
    conversations.c.id == bindparam("conversation_id")
)
_BLOCKED = select(blocked.c.contact_id).where(blocked.c.contact_id == bindparam("contact_id"))


async def buddy_for_contact(conn: AsyncConnection, contact_id: int) -> Buddy | None:
    row = (await conn.execute(_BUDDY_OF_CONTACT, {"contact_id": contact_id})).first()
    return _buddy(row) if row else None


async def buddy_by_id(conn: AsyncConnection, buddy_id: int) -> Buddy | None:
    row = (await conn.execute(_BUDDY_BY_ID, {"buddy_id": buddy_id})).first()
    return _buddy(row) if row else None


async def buddy_by_handle(conn: AsyncConnection, handle: str) -> Buddy | None:
    row = (
        await conn.execute(select(buddies).where(func.lower(buddies.c.handle) == handle.lower()))
    ).first()
    return _buddy(row) if row else None


async def enrol(
    conn: AsyncConnection, contact_id: int, handle: str, queue: str, capacity: int, now: datetime
) -> Buddy | None:
    """Make the contact a buddy of ``queue`` (re-activating a removed one); None if the
    handle belongs to someone else."""
    taken = await buddy_by_handle(conn, handle)
    if taken and taken.contact_id != contact_id:
        return None
    existing = (
        await conn.execute(select(buddies).where(buddies.c.contact_id == contact_id))
    ).first()
    if existing:
        queues = sorted({*existing._mapping["queues"], queue})
        await conn.execute(
            update(buddies)
            .where(buddies.c.contact_id == contact_id)
            .values(handle=handle, queues=queues, active=True)
        )
    else:
        await conn.execute(
            insert(buddies).values(
                contact_id=contact_id,
                handle=handle,
                capacity=capacity,
                queues=[queue],
                on_duty=False,
                fallback=False,
                active=True,
                created_at=now,
            )
        )
    return await buddy_for_contact(conn, contact_id)


async def set_buddy(conn: AsyncConnection, buddy_id: int, **values: Any) -> None:
    """Set plain ``values`` (the columns set come from their names)."""
    await conn.execute(_UPDATE_BUDDY, {"buddy_id": buddy_id, **values})


async def open_load(conn: AsyncConnection, buddy_id: int) -> int:
    result = await conn.execute(
        select(func.count()).where(
            conversations.c.buddy_id == buddy_id, conversations.c.status == "active"
        )
    )
    return int(result.scalar_one())


async def buddies_with_room(
    conn: AsyncConnection,
    queue: str,
    *,
    on_duty: bool = True,
    fallback_only: bool = False,
    ready_since: datetime | None = None,
) -> list[Buddy]:
    """Active buddies of ``queue`` (on duty, or off-duty fallbacks) below capacity; with
    ``ready_since``, only those ready for a texter since then, longest ready first."""
    load = (
        select(func.count())
        .where(conversations.c.buddy_id == buddies.c.id, conversations.c.status == "active")
        .scalar_subquery()
    )
    stmt = select(buddies).where(buddies.c.active.is_(True), load < buddies.c.capacity)
    stmt = stmt.where(buddies.c.on_duty.is_(on_duty))
    if fallback_only:
        stmt = stmt.where(buddies.c.fallback.is_(True))
    if ready_since is not None:
        stmt = stmt.where(buddies.c.ready_since >= ready_since).order_by(buddies.c.ready_since)
    rows = (await conn.execute(stmt.order_by(buddies.c.id))).all()
    return [b for b in map(_buddy, rows) if queue in b.queues]


async def list_buddies(conn: AsyncConnection) -> list[Buddy]:
    rows = await conn.execute(
        select(buddies).where(buddies.c.active.is_(True)).order_by(buddies.c.handle)
    )
    return [_buddy(r) for r in rows]


# ----------------------------------------------------------------------- invites


async def create_invite(
    conn: AsyncConnection, queue: str, created_by: int, expires_at: datetime
) -> str:
    while True:
        code = random_code(6)
        if await insert_ignore(
            conn,
            invites,
            {"code": code, "queue": queue, "created_by": created_by, "expires_at": expires_at},
        ):
            return code


async def use_invite(
    conn: AsyncConnection, code: str, contact_id: int, now: datetime
) -> str | None:
    """Spend a one-use code; its queue, or None if unknown, used or expired."""
    result = await conn.execute(
        update(invites)
        .where(
            func.upper(invites.c.code) == code.upper(),
            invites.c.used_by.is_(None),
            invites.c.expires_at > now,
        )
        .values(used_by=contact_id, used_at=now)
        .returning(invites.c.queue)
    )
    return result.scalar_one_or_none()


# ----------------------------------------------------------------------- rota


async def set_rota(conn: AsyncConnection, queue: str, night: date, buddy_ids: list[int]) -> None:
    await conn.execute(delete(rota).where(rota.c.queue == queue, rota.c.night == night))
    for buddy_id in buddy_ids:
        await conn.execute(insert(rota).values(queue=queue, night=night, buddy_id=buddy_id))


async def rota_due(conn: AsyncConnection, queue: str, night: date) -> list[tuple[int, int]]:
    """(rota id, buddy id) of rostered buddies for ``night`` not yet told they're on."""
    rows = await conn.execute(
        select(rota.c.id, rota.c.buddy_id).where(
            rota.c.queue == queue, rota.c.night == night, rota.c.notified_at.is_(None)
        )
    )
    return [(r.id, r.buddy_id) for r in rows]


async def mark_rota_notified(conn: AsyncConnection, rota_id: int, now: datetime) -> None:
    await conn.execute(update(rota).where(rota.c.id == rota_id).values(notified_at=now))


# ----------------------------------------------------------------------- conversations


async def open_for_texter(conn: AsyncConnection, texter_id: int) -> Conversation | None:
    row = (await conn.execute(_OPEN_FOR_TEXTER, {"texter_id": texter_id})).first()
    return _conversation(row) if row else None


async def contacts_in_conversation(conn: AsyncConnection) -> set[int]:
    """Everyone in a conversation now: texters waiting or talking, buddies talking
    (few at any time: read through the status index, whoever is asking about)."""
    texters = select(conversations.c.texter_id).where(
        conversations.c.status.in_(("waiting", "active"))
    )
    talking = (
        select(buddies.c.contact_id)
        .join(conversations, conversations.c.buddy_id == buddies.c.id)
        .where(conversations.c.status == "active")
    )
    return set((await conn.execute(union(texters, talking))).scalars())


async def get(conn: AsyncConnection, conversation_id: int) -> Conversation | None:
    row = (await conn.execute(_CONVERSATION_BY_ID, {"conversation_id": conversation_id})).first()
    return _conversation(row) if row else None


async def feedback_pending(conn: AsyncConnection, texter_id: int) -> Conversation | None:
    row = (
        await conn.execute(
            select(conversations)
            .where(
                conversations.c.texter_id == texter_id, conversations.c.feedback_pending.is_(True)
            )
            .order_by(conversations.c.id.desc())
            .limit(1)
        )
    ).first()
    return _conversation(row) if row else None


async def history(conn: AsyncConnection, texter_id: int) -> list[Conversation]:
    """The texter's earlier (closed) conversations, newest first."""
    rows = await conn.execute(
        select(conversations)
        .where(conversations.c.texter_id == texter_id, conversations.c.status == "closed")
        .order_by(conversations.c.id.desc())
    )
    return [_conversation(r) for r in rows]


async def count_since(conn: AsyncConnection, texter_id: int, since: datetime) -> int:
    result = await conn.execute(
        select(func.count()).where(
            conversations.c.texter_id == texter_id, conversations.c.created_at >= since
        )
    )
    return int(result.scalar_one())


async def create(
    conn: AsyncConnection,
    texter_id: int,
    queue: str,
    now: datetime,
    *,
    urgent: bool = False,
    triage: str | None = None,
    slow: bool = False,
    requested_buddy_id: int | None = None,
) -> Conversation:
    result = await conn.execute(
        insert(conversations)
        .values(
            texter_id=texter_id,
            queue=queue,
            pseudonym=random_code(2),
            status="waiting",
            urgent=urgent,
            triage=triage,
            slow=slow,
            requested_buddy_id=requested_buddy_id,
            created_at=now,
            queued_at=now,
            last_activity_at=now,
            escalation=0,
            feedback_pending=False,
        )
        .returning(conversations.c.id)
    )
    conversation = await get(conn, result.scalar_one())
    assert conversation is not None
    return conversation


async def update_conversation(conn: AsyncConnection, conversation_id: int, **values: Any) -> None:
    """Set plain ``values`` (the columns set come from their names)."""
    await conn.execute(_UPDATE_CONVERSATION, {"conversation_id": conversation_id, **values})


def _waiting_order() -> list[Any]:
    # Urgent first, then people not over the fair-use cap, then longest waiting.
    return [
        conversations.c.urgent.desc(),
        case((conversations.c.slow.is_(True), 1), else_=0),
        conversations.c.queued_at,
        conversations.c.id,
    ]


def _waiting_in(queues: list[str] | None) -> Any:
    where = conversations.c.status == "waiting"
    return where if queues is None else and_(where, conversations.c.queue.in_(queues))


async def waiting(
    conn: AsyncConnection, queues: list[str] | None = None, limit: int | None = None
) -> list[Conversation]:
    """Waiting texters, the next to be served first (the first ``limit`` of them)."""
    stmt = select(conversations).where(_waiting_in(queues)).order_by(*_waiting_order())
    rows = await conn.execute(stmt.limit(limit))
    return [_conversation(r) for r in rows]


async def waiting_count(conn: AsyncConnection, queues: list[str] | None = None) -> int:
    found = await conn.execute(select(func.count()).where(_waiting_in(queues)))
    return int(found.scalar_one())


async def position(conn: AsyncConnection, conv: Conversation) -> int:
    """Where a waiting texter stands in their queue (1 = next), counted, not listed."""
    c = conversations.c
    same_urgency = c.urgent.is_(conv.urgent)
    same_slowness = c.slow.is_(True) if conv.slow else c.slow.is_not(True)
    earlier = or_(c.queued_at < conv.queued_at, and_(c.queued_at == conv.queued_at, c.id < conv.id))
    ahead = [and_(same_urgency, same_slowness, earlier)]
    if not conv.urgent:
        ahead.append(c.urgent.is_(True))
    if conv.slow:
        ahead.append(and_(same_urgency, c.slow.is_not(True)))
    found = await conn.execute(select(func.count()).where(_waiting_in([conv.queue]), or_(*ahead)))
    return int(found.scalar_one()) + 1


async def claim(conn: AsyncConnection, conversation_id: int, buddy_id: int, now: datetime) -> bool:
    """Atomically give a waiting texter to a buddy; False if someone else got there first."""
    result = await conn.execute(
        update(conversations)
        .where(conversations.c.id == conversation_id, conversations.c.status == "waiting")
        .values(status="active", buddy_id=buddy_id, claimed_at=now, last_activity_at=now)
    )
    if result.rowcount != 1:
        return False
    await set_buddy(conn, buddy_id, ready_since=None)  # whoever they were ready for, it's this one
    return True


async def active_for_buddy(conn: AsyncConnection, buddy_id: int) -> list[Conversation]:
    """The buddy's open conversations, most recently active first."""
    rows = await conn.execute(_ACTIVE_FOR_BUDDY, {"buddy_id": buddy_id})
    return [_conversation(r) for r in rows]


async def add_message(
    conn: AsyncConnection, conversation: Conversation, sender: str, text: str, now: datetime
) -> None:
    await conn.execute(
        _ADD_MESSAGE,
        {"conversation_id": conversation.id, "sender": sender, "text": text, "at": now},
    )
    values: dict[str, Any] = {"last_activity_at": now, "silence_checked_at": None}
    if sender == "buddy" and conversation.first_reply_at is None:
        values["first_reply_at"] = now
    await update_conversation(conn, conversation.id, **values)


async def buddy_spoke_since(conn: AsyncConnection, conversation_id: int, since: datetime) -> bool:
    """Whether a buddy has written in the conversation since ``since``."""
    found = await conn.execute(
        select(conversation_messages.c.id)
        .where(
            conversation_messages.c.conversation_id == conversation_id,
            conversation_messages.c.sender == "buddy",
            conversation_messages.c.at >= since,
        )
        .limit(1)
    )
    return found.first() is not None


async def messages_of(conn: AsyncConnection, conversation_id: int) -> list[tuple[str, str | None]]:
    rows = await conn.execute(
        select(conversation_messages.c.sender, conversation_messages.c.text)
        .where(conversation_messages.c.conversation_id == conversation_id)
        .order_by(conversation_messages.c.id)
    )
    return [(r.sender, r.text) for r in rows]


async def purge_text_before(conn: AsyncConnection, cutoff: datetime) -> int:
    """Empty message text older than ``cutoff``; times and senders stay for stats."""
    result = await conn.execute(
        update(conversation_messages)
        .where(conversation_messages.c.at < cutoff, conversation_messages.c.text.is_not(None))
        .values(text=None)
    )
    notes = await conn.execute(
        update(conversations)
        .where(
            conversations.c.closed_at < cutoff,
            or_(conversations.c.handover_note.is_not(None), conversations.c.pass_note.is_not(None)),
        )
        .values(handover_note=None, pass_note=None)
    )
    return int(result.rowcount) + int(notes.rowcount)


async def open_conversations(conn: AsyncConnection) -> list[Conversation]:
    rows = await conn.execute(
        select(conversations).where(conversations.c.status.in_(("waiting", "active")))
    )
    return [_conversation(r) for r in rows]


async def people_of_queue(conn: AsyncConnection, queue: str) -> list[int]:
    """Contacts who came in by ``queue`` or have had a conversation in it."""
    came = select(contacts.c.id).where(contacts.c.queue == queue)
    talked = select(conversations.c.texter_id).where(conversations.c.queue == queue)
    rows = await conn.execute(came.union(talked))
    return sorted(int(r[0]) for r in rows)


async def contact_by_ref(conn: AsyncConnection, ref: str) -> int | None:
    row = (await conn.execute(select(contacts.c.id).where(contacts.c.ref == ref))).first()
    return int(row.id) if row else None


async def in_range(conn: AsyncConnection, since: datetime) -> list[Conversation]:
    rows = await conn.execute(select(conversations).where(conversations.c.created_at >= since))
    return [_conversation(r) for r in rows]


async def feedback_scores(conn: AsyncConnection, since: datetime) -> list[tuple[str, int]]:
    rows = await conn.execute(
        select(conversations.c.queue, conversations.c.feedback).where(
            and_(conversations.c.created_at >= since, conversations.c.feedback.is_not(None))
        )
    )
    return [(r.queue, r.feedback) for r in rows]


async def forget_texter(conn: AsyncConnection, texter_id: int) -> None:
    await conn.execute(delete(conversations).where(conversations.c.texter_id == texter_id))


# ----------------------------------------------------------------------- per-person state


async def ask(
    conn: AsyncConnection,
    contact_id: int,
    question: str,
    now: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    await conn.execute(delete(awaiting).where(awaiting.c.contact_id == contact_id))
    await conn.execute(
        insert(awaiting).values(
            contact_id=contact_id, question=question, data=data or {}, asked_at=now
        )
    )


async def asked(
    conn: AsyncConnection, contact_id: int
) -> tuple[str, dict[str, Any], datetime] | None:
    row = (await conn.execute(_ASKED, {"contact_id": contact_id})).first()
    return (row.question, row.data or {}, row.asked_at) if row else None


async def answered(conn: AsyncConnection, contact_id: int) -> None:
    await conn.execute(delete(awaiting).where(awaiting.c.contact_id == contact_id))


async def is_blocked(conn: AsyncConnection, contact_id: int) -> bool:
    row = (await conn.execute(_BLOCKED, {"contact_id": contact_id})).first()
    return row is not None


async def set_blocked(
    conn: AsyncConnection, contact_id: int, by: int, now: datetime, on: bool
) -> None:
    await conn.execute(delete(blocked).where(blocked.c.contact_id == contact_id))
    if on:
        await conn.execute(insert(blocked).values(contact_id=contact_id, blocked_by=by, at=now))
