"""Small portable SQL helpers over SQLAlchemy Core."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Select,
    Table,
    any_,
    bindparam,
    func,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def among(
    conn: AsyncConnection, column: ColumnElement[int], values: Sequence[int]
) -> ColumnElement[bool]:
    """``column IN values`` with one parameter: ``= ANY(array)`` on PostgreSQL, a JSON
    array read by ``json_each`` on SQLite. A plain IN renders (and on PostgreSQL casts)
    one placeholder per value, which for a batch of thousands costs more than the query."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type)))
    listed = func.json_each(json.dumps(list(values))).table_valued("value")
    return column.in_(select(listed.c.value))


def pairs(
    conn: AsyncConnection, values: Sequence[tuple[int, int]], names: tuple[str, str]
) -> FromClause:
    """``values`` as a table of two integer columns, with one parameter per column on
    PostgreSQL (``unnest`` of two arrays) and one in all on SQLite (a JSON array of
    pairs read by ``json_each``): as ``among``, for a batch of thousands."""
    first, second = names
    if conn.dialect.name == "postgresql":
        arrays = [
            bindparam(None, [pair[n] for pair in values], type_=postgresql.ARRAY(Integer))
            for n in (0, 1)
        ]
        return func.unnest(*arrays).table_valued(first, second).render_derived()
    each = func.json_each(json.dumps(list(values))).table_valued("value")
    return select(
        func.json_extract(each.c.value, "$[0]", type_=Integer).label(first),
        func.json_extract(each.c.value, "$[1]", type_=Integer).label(second),
    ).subquery()


async def insert_ignore(
    conn: AsyncConnection, table: Table, values: dict[str, Any], keys: Sequence[str] | None = None
) -> int | None:
    """INSERT … ON CONFLICT [(keys)] DO NOTHING; the new row's id, or None on conflict.

    Without ``keys`` a clash on any unique constraint is ignored.
    """
    stmt = _insert_ignoring(conn.dialect.name, table, tuple(keys) if keys else None)
    result = await conn.execute(stmt, values)
    return result.scalar_one_or_none()


@functools.cache
def _insert_ignoring(dialect: str, table: Table, keys: tuple[str, ...] | None) -> Any:
    """The statement of ``insert_ignore``, built once per table (values come as
    parameters): every inbound text makes one."""
    stmt: Any
    if dialect == "postgresql":
        stmt = postgresql.insert(table)
    elif dialect == "sqlite":
        stmt = sqlite.insert(table)
    else:  # pragma: no cover - only the two supported back ends
        raise RuntimeError(f"unsupported database {dialect}")
    keys_list = list(keys) if keys else None
    return stmt.on_conflict_do_nothing(index_elements=keys_list).returning(table.c.id)


async def insert_many_ignore(
    conn: AsyncConnection, table: Table, rows: list[dict[str, Any]], key: str
) -> None:
    """INSERT … ON CONFLICT (key) DO NOTHING for every row, as one executemany."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=[key])
    await conn.execute(stmt, rows)


async def insert_select_ignore(
    conn: AsyncConnection, table: Table, rows: Select[Any], key: str
) -> None:
    """INSERT … SELECT ``rows`` (its columns labelled with ``table``'s names) … ON
    CONFLICT (key) DO NOTHING."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    names = [column.name for column in rows.selected_columns]
    # A WHERE, even WHERE true, tells SQLite that ON begins the upsert, not a join.
    stmt = (
        dialect.insert(table)
        .from_select(names, rows.where(true()))
        .on_conflict_do_nothing(index_elements=[key])
    )
    await conn.execute(stmt)
