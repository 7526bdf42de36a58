"""Every table, from every feature's module, on one ``metadata`` (for Alembic and tests)."""

from bot.store import tables
from bot.store.tables import metadata

__all__ = ["metadata", "tables"]
