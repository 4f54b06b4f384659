"""Batched loaders shared by every connector: one statement per batch of keys, never one per key."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar, overload

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    Table,
    bindparam,
    func,
    or_,
    select,
    tuple_,
)

from connectors.database import Database
from schemas.batching import Loader, Waves

# Well under SQLite's and asyncpg's bound-parameter limits, even for composite keys.
MAX_KEYS_PER_STATEMENT = 2000

ValueT = TypeVar("ValueT")
KeyColumns = ColumnElement[Any] | tuple[ColumnElement[Any], ...]


def _key_of(columns: KeyColumns) -> Callable[[Row[Any]], Hashable]:
    if isinstance(columns, tuple):
        names = [str(column.key) for column in columns]
        return lambda row: tuple(getattr(row, name) for name in names)
    name = str(columns.key)
    return lambda row: getattr(row, name)


class AgencyLoaders:
    """Base of each connector's per-request loaders. Subclasses declare their loaders as
    class attributes (`worker = one_by(worker_t.c.id_number)`): each query is built once,
    and a request creates only the loaders it uses, all dispatching in its waves."""

    def __init__(self, database: Database, waves: Waves) -> None:
        self.database = database
        self.waves = waves


class _LoaderSpec(Generic[ValueT]):
    """A loader declared on an AgencyLoaders class: the prepared query, shared by every
    request; the Loader itself, created per request on first access."""

    def __init__(self, columns: KeyColumns, statement: Select[Any]) -> None:
        self.columns = columns
        self.key_of = _key_of(columns)
        keys: BindParameter[Any] = bindparam("keys", expanding=True)
        condition = tuple_(*columns).in_(keys) if isinstance(columns, tuple) else columns.in_(keys)
        self.query = statement.where(condition)
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _LoaderSpec[ValueT]: ...
    @overload
    def __get__(self, instance: AgencyLoaders, owner: type) -> Loader[Any, ValueT]: ...
    def __get__(
        self, instance: AgencyLoaders | None, owner: type
    ) -> _LoaderSpec[ValueT] | Loader[Any, ValueT]:
        if instance is None:
            return self
        database = instance.database

        async def fetch(keys: list[Hashable]) -> list[ValueT]:
            rows: list[Row[Any]] = []
            for start in range(0, len(keys), MAX_KEYS_PER_STATEMENT):
                chunk = keys[start : start + MAX_KEYS_PER_STATEMENT]
                rows.extend(await database.fetch(self.query, {"keys": chunk}))
            return self.arrange(keys, rows)

        loader: Loader[Any, ValueT] = Loader(fetch, instance.waves)
        instance.__dict__[self.name] = loader  # later accesses skip the descriptor
        return loader

    def arrange(self, keys: list[Hashable], rows: list[Row[Any]]) -> list[ValueT]:
        raise NotImplementedError


class _OneBy(_LoaderSpec["Row[Any] | None"]):
    def arrange(self, keys: list[Hashable], rows: list[Row[Any]]) -> list[Row[Any] | None]:
        found = {self.key_of(row): row for row in rows}
        return [found.get(key) for key in keys]


class _ManyBy(_LoaderSpec["list[Row[Any]]"]):
    def arrange(self, keys: list[Hashable], rows: list[Row[Any]]) -> list[list[Row[Any]]]:
        grouped: defaultdict[Hashable, list[Row[Any]]] = defaultdict(list)
        for row in rows:
            grouped[self.key_of(row)].append(row)
        return [grouped.get(key, []) for key in keys]


def one_by(columns: KeyColumns, statement: Select[Any] | None = None) -> _OneBy:
    """Declares a loader of the row whose (unique) key is given, or None."""
    return _OneBy(columns, statement if statement is not None else select(_table_of(columns)))


def many_by(
    columns: KeyColumns,
    statement: Select[Any] | None = None,
    order_by: Sequence[ColumnElement[Any]] = (),
) -> _ManyBy:
    """Declares a loader of every row with the given key, in `order_by` order."""
    query = statement if statement is not None else select(_table_of(columns))
    return _ManyBy(columns, query.order_by(*order_by) if order_by else query)


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
