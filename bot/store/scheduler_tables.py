"""Tables for reminders, daily prompts and the journal, check-ups, buddy offers and
broadcasts.

Every pending send is one ``scheduled`` row with a ``due_at`` and a unique idempotency
``key`` (the outbox's ``dedupe_key`` too), so sweeps can be repeated, raced or crashed
without a send being lost or doubled.
"""

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
    text,
)

from bot.store.tables import Id, UTCDateTime, metadata

# Per-person settings; no row means every default.
schedule_prefs = Table(
    "schedule_prefs",
    metadata,
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("prompt_time", String(5)),  # local "HH:MM"; None = no daily prompts
    Column("quiet_start", String(5)),  # local "HH:MM"; None = the default quiet hours
    Column("quiet_end", String(5)),
    Column("reminder_minutes", JSON),  # e.g. [1440, 60]; None = the default
    Column("notices", Boolean, nullable=False, default=False),
    Column("weekly", Boolean, nullable=False, default=True),
    Column("staff_appts", Boolean, nullable=False, default=False),
    Column("checkup_time", String(5)),  # local "HH:MM"; None = no check-ups
    Column("planned_until", Date),  # the last local day with a prompt row planned
    Column("updated_at", UTCDateTime, nullable=False),
    # The planning sweep's question: who runs out of planned prompts soon?
    Index(None, "planned_until"),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("what", Text, nullable=False),
    Column("status", String(12), nullable=False, default="active"),  # active, dropped
    Column("created_by", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("dropped_at", UTCDateTime),
    Index(None, "contact_id", "starts_at"),
)

scheduled = Table(
    "scheduled",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # reminder, prompt, broadcast, barc
    Column("key", String(128), nullable=False, unique=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("grace_until", UTCDateTime, nullable=False),  # after this, not worth sending
    Column("status", String(12), nullable=False, default="pending"),  # sent, skipped, cancelled
    Column("reason", String(32)),
    Column("ref_id", Id),  # the appointment or broadcast
    Column("payload", JSON, nullable=False, default=dict),
    Column("created_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime),
    # The sweep's claim: "pending and due", found without reading future rows.
    Index(None, "status", "due_at"),
    # A reminder's or broadcast's rows; prompts (no ref) stay out of it.
    Index(
        None,
        "kind",
        "ref_id",
        sqlite_where=text("ref_id IS NOT NULL"),
        postgresql_where=text("ref_id IS NOT NULL"),
    ),
    Index(None, "contact_id", "kind", "status"),
)

journal = Table(
    "journal",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("prompt_key", String(128), unique=True),  # one entry per prompt
    Column("prompt_id", String(32)),
    Column("measure", String(24)),  # for a check-in: what the score measures
    Column("score", SmallInteger),
    Column("text", Text, nullable=False),
    Column("shared", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "contact_id", "created_at"),
)

# Recovery-capital check-ups (BARC-10): one row per check-up, one per answer. Private
# like the journal.
checkups = Table(
    "checkups",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("asking", SmallInteger),  # SMS: the statement asked last (1-10)
    Column("asked_at", UTCDateTime),  # None while it waits for the day's prompt answer
    Column("completed_at", UTCDateTime),
    Column("score", SmallInteger),  # 10-60, once all ten are answered
    Index(None, "contact_id", "completed_at"),
)

checkup_answers = Table(
    "checkup_answers",
    metadata,
    Column("checkup_id", Id, ForeignKey("checkups.id", ondelete="CASCADE"), primary_key=True),
    Column("item", SmallInteger, primary_key=True),  # 1-10
    Column("answer", SmallInteger, nullable=False),  # 1 strongly disagree … 6 strongly agree
    Column("answered_at", UTCDateTime, nullable=False),
)

buddy_offers = Table(
    "buddy_offers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("reason", String(48), nullable=False),
    Column("urgent", Boolean, nullable=False),
    Column("offered_at", UTCDateTime, nullable=False),
    Column("taken_at", UTCDateTime),
    Index(None, "contact_id", "offered_at"),
)

broadcasts = Table(
    "broadcasts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("created_by", Id, ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("sender_ref", String(16), nullable=False),  # kept even if the contact goes
    Column("audience", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("urgent", Boolean, nullable=False, default=False),
    Column("send_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("status", String(12), nullable=False),  # draft, pending, sending, cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("cancelled_at", UTCDateTime),
    Index(None, "status", "send_at"),
)
