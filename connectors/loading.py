"""Batched loaders shared by every connector: one statement per batch of keys, never one per key."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, Table, func, or_, select, tuple_

from connectors.database import Database
from schemas.batching import Loader, Waves

# Well under SQLite's and asyncpg's bound-parameter limits, even for composite keys.
MAX_KEYS_PER_STATEMENT = 2000

KeyColumns = ColumnElement[Any] | tuple[ColumnElement[Any], ...]


def _key_filter(columns: KeyColumns, keys: Sequence[Hashable]) -> ColumnElement[bool]:
    if isinstance(columns, tuple):
        return tuple_(*columns).in_(list(keys))
    return columns.in_(list(keys))


def _key_of(columns: KeyColumns) -> Callable[[Row[Any]], Hashable]:
    if isinstance(columns, tuple):
        names = [str(column.key) for column in columns]
        return lambda row: tuple(getattr(row, name) for name in names)
    name = str(columns.key)
    return lambda row: getattr(row, name)


async def _fetch_by_keys(
    database: Database, statement: Select[Any], columns: KeyColumns, keys: Sequence[Hashable]
) -> list[Row[Any]]:
    rows: list[Row[Any]] = []
    for start in range(0, len(keys), MAX_KEYS_PER_STATEMENT):
        chunk = keys[start : start + MAX_KEYS_PER_STATEMENT]
        rows.extend(await database.fetch(statement.where(_key_filter(columns, chunk))))
    return rows


class AgencyLoaders:
    """Base of each connector's per-request loaders: builds batched loaders on its database,
    all dispatching in the request's waves."""

    def __init__(self, database: Database, waves: Waves) -> None:
        self.database = database
        self.waves = waves

    def one_by(
        self, columns: KeyColumns, statement: Select[Any] | None = None
    ) -> Loader[Any, Row[Any] | None]:
        """Loads the row whose (unique) key is given, or None."""
        database = self.database
        query = statement if statement is not None else select(_table_of(columns))
        key_of = _key_of(columns)

        async def fetch(keys: list[Hashable]) -> list[Row[Any] | None]:
            rows = await _fetch_by_keys(database, query, columns, keys)
            found = {key_of(row): row for row in rows}
            return [found.get(key) for key in keys]

        return Loader(fetch, self.waves)

    def many_by(
        self,
        columns: KeyColumns,
        statement: Select[Any] | None = None,
        order_by: Sequence[ColumnElement[Any]] = (),
    ) -> Loader[Any, list[Row[Any]]]:
        """Loads every row with the given key, in `order_by` order."""
        database = self.database
        query = statement if statement is not None else select(_table_of(columns))
        if order_by:
            query = query.order_by(*order_by)
        key_of = _key_of(columns)

        async def fetch(keys: list[Hashable]) -> list[list[Row[Any]]]:
            grouped: defaultdict[Hashable, list[Row[Any]]] = defaultdict(list)
            for row in await _fetch_by_keys(database, query, columns, keys):
                grouped[key_of(row)].append(row)
            return [grouped.get(key, []) for key in keys]

        return Loader(fetch, self.waves)


def _table_of(columns: KeyColumns) -> Table:
    column = columns[0] if isinstance(columns, tuple) else columns
    table = column.table
    assert isinstance(table, Table)
    return table


def starts_with(column: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
    """A prefix match as a key range, which an index serves on SQLite and PostgreSQL alike
    (LIKE 'p%' is index-backed on neither by default)."""
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return (column >= prefix) & (column < upper)


async def fetch_page(
    database: Database,
    statement: Select[Any],
    key: ColumnElement[Any],
    conditions: Sequence[ColumnElement[bool]],
    after: Any,
    limit: int,
) -> list[Row[Any]]:
    """One keyset page: rows after `after` in `key` order."""
    where = [*conditions, key > after] if after is not None else list(conditions)
    return list(await database.fetch(statement.where(*where).order_by(key).limit(limit)))


async def count_rows(
    database: Database, table: Table, conditions: Sequence[ColumnElement[bool]]
) -> int:
    return int(await database.scalar(select(func.count()).select_from(table).where(*conditions)))


def any_prefix(column: ColumnElement[str], prefixes: Sequence[str]) -> ColumnElement[bool]:
    """The column starts with one of the prefixes (a caller's jurisdiction)."""
    return or_(*(starts_with(column, prefix) for prefix in prefixes))
