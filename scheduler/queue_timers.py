"""The buddy queues' timers, as sweeps over conversation rows (so a restart resumes
them): escalation of unclaimed texters, reassurance while waiting, silence check-ins
and closes, shift-start messages from the rota, and the retention purge.

Each step records how far it got on the row (``escalation``, ``reassured_at``,
``silence_checked_at``, ``notified_at``), so running a sweep twice sends nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import outgoing
from bot.clock import utcnow
from bot.config import Settings
from bot.messages import Outbound
from bot.store import conversations as convs
from bot.store import retention
from bot.store.conversations import Conversation
from content import texts
from handlers import conversation as ops
from scheduler.runner import REGISTRY, SweepContext

RENOTIFIED, PAGED, TOLD_HONESTLY = 1, 2, 3


async def escalate(conn: AsyncConnection, settings: Settings, now: datetime) -> list[Outbound]:
    out: list[Outbound] = []
    for conv in await convs.waiting(conn):
        out += await _escalate_one(conn, settings, conv, now)
    return out


async def _escalate_one(
    conn: AsyncConnection, settings: Settings, conv: Conversation, now: datetime
) -> list[Outbound]:
    timings = settings.queue(conv.queue).escalation
    waited = (now - conv.queued_at).total_seconds()
    reached = sum(
        waited >= limit
        for limit in (
            timings.renotify_after_seconds,
            timings.page_after_seconds,
            timings.honest_after_seconds,
        )
    )
    out: list[Outbound] = []
    if reached > conv.escalation:
        if conv.escalation < RENOTIFIED <= reached < PAGED:
            out += await ops.alert_buddies(conn, conv)
        if conv.escalation < PAGED <= reached:
            minutes = int(waited // 60)
            out += await ops.alert_buddies(conn, conv)
            out += await ops.alert_buddies(conn, conv, fallback=True)
            out += await ops.alert_coordinators(
                conn, settings, "coordinator.page", conv, minutes=minutes
            )
        if conv.escalation < TOLD_HONESTLY <= reached:
            out.append(ops.to_texter(conv, texts.render("texter.honest")))
        await convs.update_conversation(conn, conv.id, escalation=reached)
        if reached >= TOLD_HONESTLY:
            return out
    last = conv.reassured_at or conv.queued_at
    if (
        conv.escalation < TOLD_HONESTLY
        and (now - last).total_seconds() >= timings.reassure_every_seconds
    ):
        place = await convs.position(conn, conv)
        out.append(ops.to_texter(conv, texts.render("texter.still_waiting", position=place)))
        await convs.update_conversation(conn, conv.id, reassured_at=now)
    return out


async def silence(conn: AsyncConnection, settings: Settings, now: datetime) -> list[Outbound]:
    """Hand back texters their buddy never answered; check in on quiet chats, then close."""
    cfg = settings.buddies
    out: list[Outbound] = []
    for conv in await convs.open_conversations(conn):
        if conv.status != "active":
            continue
        if unanswered := await _unanswered_buddy(conn, cfg.unanswered_seconds, conv, now):
            out += await ops.pass_back(
                conn, settings, unanswered, conv, "", now, told="buddy.unanswered"
            )
        elif conv.silence_checked_at is None:
            if (now - conv.last_activity_at).total_seconds() >= cfg.silence_checkin_seconds:
                await convs.update_conversation(conn, conv.id, silence_checked_at=now)
                out.append(ops.to_texter(conv, texts.render("texter.check_in")))
                buddy = await convs.buddy_by_id(conn, conv.buddy_id) if conv.buddy_id else None
                if buddy:
                    out.append(
                        ops.to_buddy(
                            buddy, conv, texts.render("buddy.quiet_check", label=conv.label)
                        )
                    )
        elif (now - conv.silence_checked_at).total_seconds() >= cfg.silence_close_seconds:
            out += await ops.close(conn, conv, now, "quiet")
    return out


async def _unanswered_buddy(
    conn: AsyncConnection, limit_seconds: int, conv: Conversation, now: datetime
) -> convs.Buddy | None:
    """The buddy who took ``conv`` and has sent nothing for ``limit_seconds``: a texter
    put straight through to a buddy who has stepped away must not wait for the silence
    check."""
    if not conv.claimed_at or not conv.buddy_id:
        return None
    if conv.first_reply_at and conv.first_reply_at >= conv.claimed_at:
        return None  # answered (the usual case, with no query)
    if (now - conv.claimed_at).total_seconds() < limit_seconds:
        return None
    if conv.first_reply_at and await convs.buddy_spoke_since(conn, conv.id, conv.claimed_at):
        return None  # passed on earlier, and the new buddy has answered
    return await convs.buddy_by_id(conn, conv.buddy_id)


async def shift_starts(conn: AsyncConnection, settings: Settings, now: datetime) -> list[Outbound]:
    """At the start of a rostered night, each buddy on it is put on duty and told."""
    out: list[Outbound] = []
    for queue in settings.queues:
        today = now.astimezone(queue.zone).date()
        for night in (today - timedelta(days=1), today):
            shift = queue.shift_starting(night)
            if not shift or not shift[0] <= now < shift[1]:
                continue
            for rota_id, buddy_id in await convs.rota_due(conn, queue.name, night):
                await convs.mark_rota_notified(conn, rota_id, now)
                buddy = await convs.buddy_by_id(conn, buddy_id)
                if buddy is None or not buddy.active:
                    continue
                await convs.set_buddy(conn, buddy.id, on_duty=True)
                waiting = await convs.waiting_count(conn, [queue.name])
                text = texts.render("buddy.on_tonight", queue=queue.name, waiting=waiting)
                out.append(Outbound(text, to=buddy.contact_id))
    return out


async def _sweep(ctx: SweepContext, step: object) -> set[str]:
    async with ctx.store.tx() as conn:
        outs = await step(conn, ctx.settings, utcnow())  # type: ignore[operator]
        return await outgoing.write(conn, ctx.splitters, None, outs)


@REGISTRY.add("queue-escalation", every_seconds=5)
async def escalation_sweep(ctx: SweepContext) -> set[str]:
    return await _sweep(ctx, escalate)


@REGISTRY.add("queue-silence", every_seconds=15)
async def silence_sweep(ctx: SweepContext) -> set[str]:
    return await _sweep(ctx, silence)


@REGISTRY.add("queue-shifts", every_seconds=30)
async def shift_sweep(ctx: SweepContext) -> set[str]:
    return await _sweep(ctx, shift_starts)


@REGISTRY.add("retention-purge", every_seconds=600)
async def purge_sweep(ctx: SweepContext) -> set[str]:
    cutoff = utcnow() - timedelta(days=ctx.settings.buddies.retention_days)
    async with ctx.store.tx() as conn:
        await retention.purge_before(conn, cutoff)
    return set()
