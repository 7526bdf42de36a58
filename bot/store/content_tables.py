"""What people looked up in the network map: kind, place and result count only, never
who asked, so coordinators can see where the map has gaps."""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, String, Table

from bot.store.tables import Id, UTCDateTime, metadata

lookup_log = Table(
    "lookup_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),
    Column("place", String(64)),
    Column("count", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "at"),
)
