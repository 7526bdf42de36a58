"""Alembic, driven from code: ``nightowl db upgrade`` and ``serve`` call ``upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

from bot.store.engine import Store

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(store: Store, revision: str = "head") -> None:
    async with store.tx() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), revision))
