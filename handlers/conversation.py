"""What happens to a buddy conversation: start, claim, relay, pass, close, and who is
told. Every function returns the messages to send; nothing here knows a channel.

Privacy rule: a buddy only ever sees ``conversation.label`` ("Owl-7K") and what the
texter chose to write; a texter only ever sees the buddy's handle.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot.config import Settings
from bot.messages import Outbound, Priority
from bot.store import contacts as contacts_repo
from bot.store import conversations as convs
from bot.store.contacts import Contact
from bot.store.conversations import Buddy, Conversation
from content import texts

TAKE_PREFIX = "take:"
CLAIM_CANDIDATES = 20


def to_buddy(buddy: Buddy, conv: Conversation, text: str, **meta: object) -> Outbound:
    """A message for a buddy about one conversation (Telegram threads key on this)."""
    return Outbound(text, to=buddy.contact_id, meta={"conversation_id": conv.id, **meta})


def to_texter(conv: Conversation, text: str) -> Outbound:
    return Outbound(text, to=conv.texter_id)


def take_button(conv: Conversation) -> dict[str, object]:
    return {"buttons": [[["Take", f"{TAKE_PREFIX}{conv.id}"]]]}


async def describe(conn: AsyncConnection, conv: Conversation) -> tuple[str, str]:
    """(first contact / returning, last buddy's note) — what a buddy may know."""
    earlier = [c for c in await convs.history(conn, conv.texter_id) if c.id != conv.id]
    detail = (
        texts.render("buddy.returning", count=len(earlier))
        if earlier
        else texts.render("buddy.first_contact")
    )
    note = next((c.handover_note for c in earlier if c.handover_note), None)
    return detail, note or ""


async def coordinators_on_call(conn: AsyncConnection, settings: Settings) -> list[Contact]:
    found = []
    for entry in settings.roles.on_call:
        channel, _, address = entry.partition(":")
        contact = await contacts_repo.get_or_create(conn, channel, address)
        found.append(contact)
    return found


async def on_duty_handles(conn: AsyncConnection, queue: str) -> str:
    on = [b.handle for b in await convs.list_buddies(conn) if b.on_duty and queue in b.queues]
    return ", ".join(on) or "none"


async def alert_buddies(
    conn: AsyncConnection, conv: Conversation, *, fallback: bool = False
) -> list[Outbound]:
    """Tell buddies with room (on duty, or the off-duty fallbacks) that someone waits."""
    buddies = await convs.buddies_with_room(
        conn, conv.queue, on_duty=not fallback, fallback_only=fallback
    )
    if conv.urgent:
        text = texts.render(
            "buddy.urgent_waiting", label=conv.label, triage=conv.triage or "flagged"
        )
    else:
        detail, _ = await describe(conn, conv)
        text = texts.render("buddy.someone_waiting", label=conv.label, detail=detail)
    meta = {"conversation_id": conv.id, **take_button(conv)}
    return [Outbound(text, to=b.contact_id, priority=Priority.ALERT, meta=meta) for b in buddies]


async def alert_coordinators(
    conn: AsyncConnection, settings: Settings, key: str, conv: Conversation, **values: object
) -> list[Outbound]:
    handles = await on_duty_handles(conn, conv.queue)
    text = texts.render(key, label=conv.label, queue=conv.queue, on_duty=handles, **values)
    return [
        Outbound(text, to=c.id, priority=Priority.ALERT)
        for c in await coordinators_on_call(conn, settings)
    ]


async def start(
    conn: AsyncConnection,
    settings: Settings,
    texter: Contact,
    queue: str,
    first_message: str,
    now: datetime,
    *,
    triage: str | None = None,
    requested: Buddy | None = None,
) -> list[Outbound]:
    """Queue a texter (or hand them straight to the buddy they asked for)."""
    cfg = settings.buddies
    since = now - timedelta(hours=cfg.fair_use_hours)
    slow = (
        triage is None
        and await convs.count_since(conn, texter.id, since) >= cfg.fair_use_conversations
    )
    conv = await convs.create(
        conn,
        texter.id,
        queue,
        now,
        urgent=triage is not None,
        triage=triage,
        slow=slow,
        requested_buddy_id=requested.id if requested else None,
    )
    if first_message:
        await convs.add_message(conn, conv, "texter", first_message, now)
    if (
        requested
        and requested.on_duty
        and await convs.open_load(conn, requested.id) < requested.capacity
    ) and await convs.claim(conn, conv.id, requested.id, now):
        claimed = await convs.get(conn, conv.id)
        assert claimed is not None
        return [to_texter(conv, texts.render("texter.same_coming", handle=requested.handle))] + (
            await on_claimed(conn, requested, claimed)
        )
    ready = await _ready_buddy(conn, settings, queue, now)
    if ready and await convs.claim(conn, conv.id, ready.id, now):
        # A buddy was waiting for someone: no queue, no alerts.
        claimed = await reload(conn, conv.id)
        if not conv.urgent:
            return await on_claimed(conn, ready, claimed, greeting="texter.claimed_at_once")
        return [
            to_texter(conv, texts.render("texter.urgent")),
            *await on_claimed(conn, ready, claimed),
            *await alert_coordinators(conn, settings, "coordinator.urgent", conv, triage=triage),
        ]
    if triage is not None:
        ack = texts.render("texter.urgent")
    elif slow:
        ack = texts.render("texter.queued_busy")
    elif requested:
        ack = texts.render("texter.same_busy", handle=requested.handle)
    else:
        place = await convs.position(conn, conv)
        ack = (
            texts.render("texter.queued")
            if place == 1
            else texts.render("texter.queued_behind", position=place)
        )
    out = [to_texter(conv, ack), *await alert_buddies(conn, conv)]
    if conv.urgent:
        out += await alert_coordinators(conn, settings, "coordinator.urgent", conv, triage=triage)
    return out


async def mark_urgent(
    conn: AsyncConnection, settings: Settings, conv: Conversation, triage: str, now: datetime
) -> list[Outbound]:
    """Someone already waiting (or talking) wrote something that says they are in danger."""
    await convs.update_conversation(conn, conv.id, urgent=True, triage=triage)
    fresh = await convs.get(conn, conv.id)
    assert fresh is not None
    out = [to_texter(fresh, texts.render("texter.urgent"))]
    if fresh.status == "waiting":
        out += await alert_buddies(conn, fresh)
    out += await alert_coordinators(conn, settings, "coordinator.urgent", fresh, triage=triage)
    return out


async def _ready_buddy(
    conn: AsyncConnection, settings: Settings, queue: str, now: datetime
) -> Buddy | None:
    """The buddy of ``queue`` who has waited longest for a texter (they texted NEXT when
    nobody was waiting, within the last ``ready_minutes``), if any."""
    minutes = settings.buddies.ready_minutes
    if not minutes:
        return None
    since = now - timedelta(minutes=minutes)
    ready = await convs.buddies_with_room(conn, queue, ready_since=since)
    return ready[0] if ready else None


async def on_claimed(
    conn: AsyncConnection, buddy: Buddy, conv: Conversation, greeting: str = "texter.claimed"
) -> list[Outbound]:
    """Introduce the two: the buddy's handle to the texter (in words ``greeting``), what is
    safe to know to the buddy, and whatever the texter wrote while waiting."""
    detail, note = await describe(conn, conv)
    flag = texts.render("buddy.urgent_flag", triage=conv.triage) if conv.urgent else ""
    note_text = texts.render("buddy.last_note", note=note) if note else ""
    if conv.pass_note:
        note_text += texts.render("buddy.last_note", note=conv.pass_note)
    if conv.requested_buddy_id == buddy.id:
        note_text += texts.render("buddy.same_asked")
    intro = texts.render(
        "buddy.with_texter",
        label=conv.label,
        detail=detail,
        queue=conv.queue,
        flag=flag,
        note=note_text,
    )
    out = [
        to_texter(conv, texts.render(greeting, handle=buddy.handle)),
        to_buddy(buddy, conv, intro),
    ]
    for sender, text in await convs.messages_of(conn, conv.id):
        if sender == "texter" and text:
            out.append(
                to_buddy(
                    buddy, conv, texts.render("buddy.from_texter", label=conv.label, text=text)
                )
            )
    return out


async def take_next(
    conn: AsyncConnection,
    buddy: Buddy,
    now: datetime,
    wanted: int | None = None,
    ready_minutes: int = 0,
) -> list[Outbound]:
    """Claim ``wanted`` (a Take button) or the most urgent waiting texter, atomically.
    With nobody waiting, a buddy on duty is ready for ``ready_minutes``: the next texter
    then comes straight to them (``start``)."""
    load = await convs.open_load(conn, buddy.id)
    if load >= buddy.capacity:
        return [Outbound(texts.render("buddy.at_capacity", count=load), to=buddy.contact_id)]
    lost: list[Outbound] = []
    if wanted is not None:
        target = await convs.get(conn, wanted)
        if (
            target
            and target.status == "waiting"
            and await convs.claim(conn, target.id, buddy.id, now)
        ):
            return await on_claimed(conn, buddy, await reload(conn, target.id))
        lost = [Outbound(texts.render("buddy.taken"), to=buddy.contact_id)]
    # Only the first few: a claim fails only when another buddy took that texter.
    for candidate in await convs.waiting(conn, buddy.queues, limit=CLAIM_CANDIDATES):
        if await convs.claim(conn, candidate.id, buddy.id, now):
            return lost + await on_claimed(conn, buddy, await reload(conn, candidate.id))
    if buddy.on_duty and ready_minutes:
        await convs.set_buddy(conn, buddy.id, ready_since=now)
        ready = texts.render("buddy.ready", minutes=ready_minutes)
        return [*lost, Outbound(ready, to=buddy.contact_id)]
    return [*lost, Outbound(texts.render("buddy.nobody_waiting"), to=buddy.contact_id)]


async def reload(conn: AsyncConnection, conversation_id: int) -> Conversation:
    """The conversation as it is now (it must exist)."""
    conv = await convs.get(conn, conversation_id)
    assert conv is not None
    return conv


async def offer_next(conn: AsyncConnection, buddy: Buddy) -> list[Outbound]:
    """A slot just freed: if someone waits in the buddy's queues, say so at once."""
    if not buddy.on_duty or await convs.open_load(conn, buddy.id) >= buddy.capacity:
        return []
    waiting = await convs.waiting(conn, buddy.queues, limit=1)
    if not waiting:
        return []
    first = waiting[0]
    return [
        Outbound(
            texts.render("buddy.slot_free", label=first.label),
            to=buddy.contact_id,
            meta={"conversation_id": first.id, **take_button(first)},
        )
    ]


async def relay_to_buddy(
    conn: AsyncConnection, conv: Conversation, text: str, now: datetime
) -> list[Outbound]:
    await convs.add_message(conn, conv, "texter", text, now)
    if conv.buddy_id is None:
        return []
    buddy = await convs.buddy_by_id(conn, conv.buddy_id)
    assert buddy is not None
    return [to_buddy(buddy, conv, texts.render("buddy.from_texter", label=conv.label, text=text))]


async def relay_to_texter(
    conn: AsyncConnection, buddy: Buddy, conv: Conversation, text: str, now: datetime
) -> list[Outbound]:
    await convs.add_message(conn, conv, "buddy", text, now)
    return [to_texter(conv, texts.render("texter.from_buddy", handle=buddy.handle, text=text))]


async def close(
    conn: AsyncConnection,
    conv: Conversation,
    now: datetime,
    reason: str,
    *,
    texter_reachable: bool = True,
) -> list[Outbound]:
    """End a conversation; ask the texter for feedback once (unless they've gone)."""
    await convs.update_conversation(
        conn,
        conv.id,
        status="closed",
        closed_at=now,
        close_reason=reason,
        feedback_pending=texter_reachable and conv.claimed_at is not None,
    )
    buddy = await convs.buddy_by_id(conn, conv.buddy_id) if conv.buddy_id else None
    out: list[Outbound] = []
    if reason == "texter" and buddy:
        out += [
            to_texter(conv, texts.render("texter.done")),
            to_buddy(buddy, conv, texts.render("buddy.texter_done", label=conv.label)),
        ]
    elif reason in ("buddy", "coordinator") and buddy:
        out += [
            to_texter(conv, texts.render("texter.closed_by_buddy", handle=buddy.handle)),
            to_buddy(buddy, conv, texts.render("buddy.done", label=conv.label)),
        ]
    elif reason == "quiet":
        out.append(to_texter(conv, texts.render("texter.closed_quiet")))
        if buddy:
            out.append(to_buddy(buddy, conv, texts.render("buddy.closed_quiet", label=conv.label)))
    elif reason == "opted_out" and buddy:
        out.append(to_buddy(buddy, conv, texts.render("texter.stopped_mid_chat", label=conv.label)))
    elif reason == "texter":
        out.append(to_texter(conv, texts.render("texter.left_queue")))
    if buddy:
        fresh = await convs.buddy_by_id(conn, buddy.id)
        assert fresh is not None
        out += await offer_next(conn, fresh)
    return out


async def pass_back(
    conn: AsyncConnection,
    settings: Settings,
    buddy: Buddy,
    conv: Conversation,
    note: str,
    now: datetime,
    *,
    told: str = "buddy.passed",
) -> list[Outbound]:
    """Return the texter to the front of the queue (keeping when they first arrived), or
    straight to a buddy who is ready for someone; ``told`` is what the buddy hears."""
    await convs.update_conversation(
        conn,
        conv.id,
        status="waiting",
        buddy_id=None,
        claimed_at=None,
        pass_note=note or None,
        queued_at=conv.created_at,
        escalation=0,
    )
    out = [to_buddy(buddy, conv, texts.render(told, label=conv.label))]
    ready = await _ready_buddy(conn, settings, conv.queue, now)
    if ready and ready.id != buddy.id and await convs.claim(conn, conv.id, ready.id, now):
        claimed = await reload(conn, conv.id)
        return out + await on_claimed(conn, ready, claimed, greeting="texter.passed_at_once")
    fresh = await reload(conn, conv.id)
    out.append(to_texter(fresh, texts.render("texter.passed")))
    others = [a for a in await alert_buddies(conn, fresh) if a.to != buddy.contact_id]
    return out + others
