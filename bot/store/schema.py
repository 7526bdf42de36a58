"""Every table, from every feature's module, on one ``metadata`` (for Alembic and tests)."""

from bot.store import buddy_tables, content_tables, scheduler_tables, tables
from bot.store.tables import metadata

__all__ = ["buddy_tables", "content_tables", "metadata", "scheduler_tables", "tables"]
