"""Batched loaders shared by every connector: one statement per batch of keys, never one per key.

An agency's loaders are also its catalogue of look-ups for the network: when the agency
runs as its own service (`connectors.remote`), the same named loaders and `@served` list
queries are answered there, and the hub asks for them by name. The agency decides which
statements exist; the hub never ships SQL.
"""

from __future__ import annotations

import functools
import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

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

from kernel.batching import Loader, Waves
from storage.database import Database

# Well under SQLite's and asyncpg's bound-parameter limits, even for composite keys.
MAX_KEYS_PER_STATEMENT = 2000

ValueT = TypeVar("ValueT")
ResultT = TypeVar("ResultT")
LoadersT = TypeVar("LoadersT", bound="AgencyLoaders")
ArgsP = ParamSpec("ArgsP")
KeyColumns = ColumnElement[Any] | tuple[ColumnElement[Any], ...]


def _key_of(columns: KeyColumns) -> Callable[[Row[Any]], Hashable]:
    if isinstance(columns, tuple):
        names = [str(column.key) for column in columns]
        return lambda row: tuple(getattr(row, name) for name in names)
    name = str(columns.key)
    return lambda row: getattr(row, name)


class RemoteSource(Protocol):
    """Where a remote agency's loaders get their rows: by loader name and keys, or by list
    query name and arguments (`connectors.remote.RemoteSession`)."""

    async def load(self, loader: str, keys: list[Hashable]) -> list[Any]: ...
    async def query(self, name: str, args: tuple[Any, ...]) -> Any: ...


class AgencyLoaders:
    """Base of each connector's per-request loaders. Subclasses declare their loaders as
    class attributes (`worker = one_by(worker_t.c.id_number)`): each query is built once,
    and a request creates only the loaders it uses, all dispatching in its waves.

    With a `remote` source the same loaders fetch from the agency's service instead of its
    database; batching, caching and the rows' shape are unchanged."""

    def __init__(self, database: Database, waves: Waves, remote: RemoteSource | None = None):
        self.database = database
        self.waves = waves
        self.remote = remote

    @classmethod
    @functools.cache
    def loader_specs(cls) -> dict[str, _LoaderSpec[Any]]:
        """The keyed look-ups this agency answers, by name."""
        return _members(cls, lambda value: isinstance(value, _LoaderSpec))

    @classmethod
    @functools.cache
    def served_queries(cls) -> dict[str, Callable[..., Awaitable[Any]]]:
        """The list queries this agency answers, by name (methods marked `@served`)."""
        return _members(cls, lambda value: getattr(value, "served", False))


def _members(cls: type, wanted: Callable[[object], bool]) -> dict[str, Any]:
    return {
        name: value
        for klass in reversed(cls.__mro__)
        for name, value in vars(klass).items()
        if wanted(value)
    }


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
        database, remote = instance.database, instance.remote

        async def fetch(keys: list[Hashable]) -> list[ValueT]:
            if remote is not None:
                return self.arrange(keys, await remote.load(self.name, keys))
            return self.arrange(keys, await self.rows(database, keys))

        loader: Loader[Any, ValueT] = Loader(fetch, instance.waves)
        instance.__dict__[self.name] = loader  # later accesses skip the descriptor
        return loader

    async def rows(self, database: Database, keys: list[Hashable]) -> list[Row[Any]]:
        """Every row matching the keys, in chunks the drivers accept."""
        rows: list[Row[Any]] = []
        for start in range(0, len(keys), MAX_KEYS_PER_STATEMENT):
            chunk = keys[start : start + MAX_KEYS_PER_STATEMENT]
            rows.extend(await database.fetch(self.query, {"keys": chunk}, reused=True))
        return rows

    def arrange(self, keys: list[Hashable], rows: Sequence[Any]) -> list[ValueT]:
        raise NotImplementedError


class _OneBy(_LoaderSpec["Row[Any] | None"]):
    def arrange(self, keys: list[Hashable], rows: Sequence[Any]) -> list[Row[Any] | None]:
        found = {self.key_of(row): row for row in rows}
        return [found.get(key) for key in keys]


class _ManyBy(_LoaderSpec["list[Row[Any]]"]):
    def arrange(self, keys: list[Hashable], rows: Sequence[Any]) -> list[list[Row[Any]]]:
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
    """Declares a loader of every row with the given key, in `order_by` order, ties broken
    by the keyed table's primary key so an answer never changes order between two calls.

    The key columns lead the ORDER BY: rows are grouped by key anyway, and a planner asked
    for `order_by` alone may walk a whole index in that order rather than search the key's
    (SQLite did: a project's month of payroll took 20 ms instead of 0.2)."""
    query = statement if statement is not None else select(_table_of(columns))
    if not order_by:
        return _ManyBy(columns, query)
    leading = columns if isinstance(columns, tuple) else (columns,)
    tiebreak = [
        column
        for column in _table_of(columns).primary_key.columns
        if not any(column is named for named in (*leading, *order_by))
    ]
    return _ManyBy(columns, query.order_by(*leading, *order_by, *tiebreak))


def served(
    primes: str | None = None,
) -> Callable[
    [Callable[Concatenate[LoadersT, ArgsP], Awaitable[ResultT]]],
    Callable[Concatenate[LoadersT, ArgsP], Awaitable[ResultT]],
]:
    """Marks a list query the agency answers by name, in process or over the network.
    `primes` names the loader its rows warm, so a page's entities are not fetched twice."""

    def mark(
        method: Callable[Concatenate[LoadersT, ArgsP], Awaitable[ResultT]],
    ) -> Callable[Concatenate[LoadersT, ArgsP], Awaitable[ResultT]]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        async def answer(self: LoadersT, *args: ArgsP.args, **kwargs: ArgsP.kwargs) -> ResultT:
            if self.remote is not None:  # arguments travel by position, however passed
                positional = signature.bind(self, *args, **kwargs).args[1:]
                result: ResultT = await self.remote.query(method.__name__, positional)
            else:
                result = await method(self, *args, **kwargs)
            if primes is not None:
                spec: _LoaderSpec[Any] = getattr(type(self), primes)
                loader: Loader[Any, Any] = getattr(self, primes)
                for row in result:  # type: ignore[attr-defined]
                    loader.prime(spec.key_of(row), row)
            return result

        answer.served = True  # type: ignore[attr-defined]
        return answer

    return mark


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
