"""The schema, in SQLAlchemy Core. Alembic migrations in ``migrations/`` must match it
(``tests/test_store.py`` compares them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets BIGINT.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: identical on SQLite and PostgreSQL."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


contacts = Table(
    "contacts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("address", String(64), nullable=False),
    Column("ref", String(16), nullable=False, unique=True),
    Column("opted_out", Boolean, nullable=False, default=False),
    Column("unreachable", Boolean, nullable=False, default=False),
    Column("timezone", String(64)),
    # The buddy queue this person came in by (a Telegram deep link, an SMS number).
    Column("queue", String(24)),
    # The area (as the map names it) a person chose for local notices.
    Column("area", String(48)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "address"),
    Index(None, "area"),
)

inbox = Table(
    "inbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("channel", String(16), nullable=False),
    Column("provider_id", String(64), nullable=False),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("text", Text, nullable=False, default=""),
    Column("payload", JSON, nullable=False, default=dict),
    Column("received_at", UTCDateTime, nullable=False),
    Column("status", String(12), nullable=False, default="pending"),
    Column("attempts", SmallInteger, nullable=False, default=0),
    Column("processed_at", UTCDateTime),
    UniqueConstraint("channel", "provider_id"),
    Index(None, "status", "id"),
    Index(None, "contact_id", "status"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("contact_id", Id, ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("meta", JSON, nullable=False, default=dict),
    Column("segments", SmallInteger, nullable=False, default=1),
    Column("status", String(12), nullable=False, default="pending"),
    Column("attempts", SmallInteger, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("expires_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("provider_id", String(64)),
    Column("error", String(64)),
    Column("inbox_id", Id, ForeignKey("inbox.id", ondelete="SET NULL")),
    Column("dedupe_key", String(128), unique=True),
    Index(None, "channel", "status", "priority", "id"),
    Index(None, "contact_id", "status"),
    Index(None, "channel", "provider_id"),
)

# What the simulator's phones have "received", in delivery order (the cursor is the id).
sim_deliveries = Table(
    "sim_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("address", String(64), nullable=False),
    Column("text", Text, nullable=False),
    Column("meta", JSON, nullable=False, default=dict),
    Column("outbox_id", Id, ForeignKey("outbox.id", ondelete="SET NULL")),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "address", "id"),
)
