"""Offers of a peer buddy, made when a journal reply shows someone is struggling.

Each offer is recorded (who, why, how urgent, when) so that a YES can be turned into
a conversation by the buddy-queue code, which calls ``pending_offer`` and then
``take_offer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.messages import Outbound, Priority
from bot.store.scheduler_tables import buddy_offers
from content import texts

# A YES long after the offer is probably about something else.
OFFER_LIFETIME = timedelta(hours=2)


@dataclass(frozen=True)
class Offer:
    id: int
    contact_id: int
    reason: str  # "crisis:overdose", "checkin:cravings=5"
    urgent: bool
    offered_at: datetime


async def make_offer(
    conn: AsyncConnection, contact_id: int, reason: str, urgent: bool, now: datetime
) -> Outbound:
    """Record the offer and return the message that makes it (with the safety line)."""
    await conn.execute(
        insert(buddy_offers).values(
            contact_id=contact_id, reason=reason, urgent=urgent, offered_at=now
        )
    )
    return Outbound(texts.render("offer.buddy"), priority=Priority.ALERT, kind="offer")


async def pending_offer(conn: AsyncConnection, contact_id: int, now: datetime) -> Offer | None:
    """The latest offer not yet taken and still fresh, if any."""
    row = (
        await conn.execute(
            select(buddy_offers)
            .where(
                buddy_offers.c.contact_id == contact_id,
                buddy_offers.c.taken_at.is_(None),
                buddy_offers.c.offered_at >= now - OFFER_LIFETIME,
            )
            .order_by(buddy_offers.c.offered_at.desc(), buddy_offers.c.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    return Offer(row.id, row.contact_id, row.reason, row.urgent, row.offered_at)


async def take_offer(conn: AsyncConnection, offer_id: int, now: datetime) -> None:
    """Mark an offer as accepted, so the same YES is never acted on twice."""
    await conn.execute(
        update(buddy_offers).where(buddy_offers.c.id == offer_id).values(taken_at=now)
    )
