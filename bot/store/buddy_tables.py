"""Tables of the buddy queues: buddies, invites, rota, conversations and their messages,
plus the per-person state the conversation rule needs."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.store.tables import Id, UTCDateTime, metadata

buddies = Table(
    "buddies",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False, unique=True
    ),
    Column("handle", String(16), nullable=False, unique=True),
    Column("capacity", SmallInteger, nullable=False),
    Column("queues", JSON, nullable=False),
    Column("on_duty", Boolean, nullable=False, default=False),
    Column("fallback", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Texted NEXT when nobody was waiting: the next texter comes straight to them.
    Column("ready_since", UTCDateTime),
)

invites = Table(
    "invites",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("code", String(12), nullable=False, unique=True),
    Column("queue", String(24), nullable=False),
    Column("created_by", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_by", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("used_at", UTCDateTime),
)

rota = Table(
    "rota",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("queue", String(24), nullable=False),
    Column("night", Date, nullable=False),
    Column("buddy_id", Id, ForeignKey("buddies.id", ondelete="CASCADE"), nullable=False),
    Column("notified_at", UTCDateTime),
    UniqueConstraint("queue", "night", "buddy_id"),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("texter_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("queue", String(24), nullable=False),
    Column("pseudonym", String(8), nullable=False),
    Column("status", String(10), nullable=False),  # waiting, active, closed
    Column("buddy_id", Id, ForeignKey("buddies.id", ondelete="SET NULL")),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("triage", String(16)),
    Column("slow", Boolean, nullable=False, default=False),
    Column("requested_buddy_id", Id, ForeignKey("buddies.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("queued_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("first_reply_at", UTCDateTime),
    Column("last_activity_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("close_reason", String(16)),
    Column("escalation", SmallInteger, nullable=False, default=0),
    Column("reassured_at", UTCDateTime),
    Column("silence_checked_at", UTCDateTime),
    Column("pass_note", Text),
    Column("handover_note", Text),
    Column("feedback", SmallInteger),
    Column("feedback_pending", Boolean, nullable=False, default=False),
    Index(None, "status", "queue"),
    Index(None, "texter_id", "status"),
    Index(None, "buddy_id", "status"),
)

conversation_messages = Table(
    "conversation_messages",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "conversation_id", Id, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False
    ),
    Column("sender", String(8), nullable=False),  # texter or buddy
    Column("text", Text),  # emptied after the retention period; the row stays for stats
    Column("at", UTCDateTime, nullable=False),
    Index(None, "conversation_id", "id"),
    Index(None, "at"),
)

# What a person was last asked, so a bare answer ("yes", "3") can be understood.
awaiting = Table(
    "awaiting",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("question", String(16), nullable=False),  # forget, handle
    Column("data", JSON, nullable=False, default=dict),
    Column("asked_at", UTCDateTime, nullable=False),
)

blocked = Table(
    "blocked",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("blocked_by", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("at", UTCDateTime, nullable=False),
)
