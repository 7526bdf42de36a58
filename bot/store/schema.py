"""Every table, from every feature's module, on one ``metadata`` (for Alembic and tests)."""

from bot.store import scheduler_tables, tables
from bot.store.tables import metadata

__all__ = ["metadata", "scheduler_tables", "tables"]
