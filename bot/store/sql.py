"""Small portable SQL helpers over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


async def insert_ignore(
    conn: AsyncConnection, table: Table, values: dict[str, Any], keys: Sequence[str] | None = None
) -> int | None:
    """INSERT … ON CONFLICT [(keys)] DO NOTHING; the new row's id, or None on conflict.

    Without ``keys`` a clash on any unique constraint is ignored.
    """
    dialect = conn.dialect.name
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported back ends
        raise RuntimeError(f"unsupported database {dialect}")
    stmt = stmt.values(**values).on_conflict_do_nothing(index_elements=list(keys) if keys else None)
    result = await conn.execute(stmt.returning(table.c.id))
    return result.scalar_one_or_none()


async def insert_many_ignore(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], key: str
) -> None:
    """INSERT … ON CONFLICT (key) DO NOTHING for every row, as one executemany."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
    await conn.execute(stmt, rows)
