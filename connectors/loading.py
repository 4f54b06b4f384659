"""Batched loaders shared by every connector: one statement per batch of keys, never one per key.

An agency declares its look-ups (`one_by`, `many_by`) and its list queries (`@served`)
on an `AgencyLoaders` class; a request's loaders fetch through that request's session
with the agency's transport (`connectors.transport`): its database in process, or its
service over the network, where the same declarations are answered by name. Batching,
caching and the rows' shape are the same either way. The agency decides which statements
exist; the hub never ships SQL.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from datetime import date
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

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

from connectors.transport import Session
from ingest.batches import as_of_by_table
from kernel.batching import Loader, Waves
from storage.database import Database

ValueT = TypeVar("ValueT")
ResultT = TypeVar("ResultT")
ArgsP = ParamSpec("ArgsP")
KeyColumns = ColumnElement[Any] | tuple[ColumnElement[Any], ...]


def _key_of(columns: KeyColumns) -> Callable[[Row[Any]], Hashable]:
    if isinstance(columns, tuple):
        names = [str(column.key) for column in columns]
        return lambda row: tuple(getattr(row, name) for name in names)
    name = str(columns.key)
    return lambda row: getattr(row, name)


AS_OF_SECONDS = 5.0
"""How long a process answers from the as-of days it last read (`AsOfKept`)."""


class AsOfKept:
    """One agency's as-of days as this process last read them, kept `seconds`: every
    request that derives an answer needs every agency's, and reading them was one
    statement per agency per request (14-16 % of a dossier's CPU). An import this process
    applies forgets them at once (`forget`); another process's, within `seconds`. They
    are public (they name no one), so one reading serves every caller. A failed reading
    is not kept; a reading under way is shared, never cancelled by a caller that leaves."""

    def __init__(self, seconds: float = AS_OF_SECONDS) -> None:
        self.seconds = seconds
        self._read: asyncio.Future[dict[str, date]] | None = None
        self._read_at = 0.0

    def forget(self) -> None:
        self._read = None

    def _usable(self, now: float) -> asyncio.Future[dict[str, date]] | None:
        found = self._read
        if (
            found is None
            or now - self._read_at >= self.seconds
            or found.get_loop() is not asyncio.get_running_loop()
            or (found.done() and (found.cancelled() or found.exception() is not None))
        ):
            return None
        return found

    def now(self) -> dict[str, date] | None:
        """What `get` would answer at once (a reading kept and done), else None."""
        found = self._usable(time.monotonic())
        return found.result() if found is not None and found.done() else None

    async def get(self, read: Callable[[], Awaitable[dict[str, date]]]) -> dict[str, date]:
        now = time.monotonic()
        found = self._usable(now)
        if found is None:
            found = self._read = asyncio.ensure_future(read())
            self._read_at = now
        return await asyncio.shield(found)


class AgencyLoaders:
    """Base of each connector's per-request loaders. Subclasses declare their loaders as
    class attributes (`worker = one_by(worker_t.c.id_number)`): each query is built once,
    and a request creates only the loaders it uses, all dispatching in its waves."""

    def __init__(self, session: Session, waves: Waves, kept: AsOfKept | None = None) -> None:
        """`kept`: the process's as-of days of this agency (else read once per request)."""
        self.session = session
        self.waves = waves
        self._kept = kept
        self._as_of: asyncio.Future[dict[str, date]] | None = None

    async def as_of(self) -> dict[str, date]:
        """Table name → the day its data is complete through (the agency's `data_as_of`,
        see `as_of_served`): as the process keeps them, else asked once per request;
        empty without a batch registry."""
        if self._kept is not None:
            return await self._kept.get(self._tables_as_of)
        if self._as_of is None:
            self._as_of = asyncio.ensure_future(self._tables_as_of())
        return await self._as_of

    def as_of_now(self) -> dict[str, date] | None:
        """`as_of()`'s answer when it is already at hand, else None: the answer without
        a task, which `as_of()` gathered with the other agencies' is (`freshness`)."""
        if self._kept is not None:
            return self._kept.now()
        found = self._as_of
        if found is None or not found.done() or found.cancelled() or found.exception():
            return None
        return found.result()

    async def _tables_as_of(self) -> dict[str, date]:
        query = getattr(self, "data_as_of", None)
        if query is None:
            return {}
        return {row.table_name: row.as_of for row in await query() if row.as_of}

    @classmethod
    @functools.cache
    def loader_specs(cls) -> dict[str, LoaderSpec[Any]]:
        """The keyed look-ups this agency answers, by name."""
        return _members(cls, LoaderSpec)

    @classmethod
    @functools.cache
    def served_queries(cls) -> dict[str, ServedQuery[..., Any]]:
        """The list queries this agency answers, by name (marked `@served`)."""
        return _members(cls, ServedQuery)


def _members(cls: type, kind: type) -> dict[str, Any]:
    return {
        name: value
        for klass in reversed(cls.__mro__)
        for name, value in vars(klass).items()
        if isinstance(value, kind)
    }


class LoaderSpec(Generic[ValueT]):
    """A loader declared on an AgencyLoaders class: the prepared query, shared by every
    request; the Loader itself, created per request on first access. A transport runs
    the query (in process) or asks for the look-up by name (over the network)."""

    def __init__(
        self, columns: KeyColumns, statement: Select[Any], primes: str | None = None
    ) -> None:
        self.columns = columns
        self.primes = primes
        self.key_of = _key_of(columns)
        keys: BindParameter[Any] = bindparam("keys", expanding=True)
        if isinstance(columns, tuple):
            # Each column's values apart too, though the pairs alone say which rows: SQLite
            # searches an index on (a, b) by `a` only for `(a, b) IN (VALUES …)`, and read
            # every month of a project to answer one (`parameters`).
            each = [
                column.in_(bindparam(f"keys_{index}", expanding=True))
                for index, column in enumerate(columns)
            ]
            self.query = statement.where(*each, tuple_(*columns).in_(keys))
        else:
            self.query = statement.where(columns.in_(keys))
        self.name = ""

    def parameters(self, keys: list[Hashable]) -> dict[str, list[Any]]:
        """What the statement binds for these keys: `keys`, and for a composite key each
        column's distinct values (`keys_0`, `keys_1`, …) in the order they first come."""
        found: dict[str, list[Any]] = {"keys": keys}
        if isinstance(self.columns, tuple):
            for index in range(len(self.columns)):
                values = dict.fromkeys(key[index] for key in keys)  # type: ignore[index]
                found[f"keys_{index}"] = list(values)
        return found

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type) -> LoaderSpec[ValueT]: ...
    @overload
    def __get__(self, instance: AgencyLoaders, owner: type) -> Loader[Any, ValueT]: ...
    def __get__(
        self, instance: AgencyLoaders | None, owner: type
    ) -> LoaderSpec[ValueT] | Loader[Any, ValueT]:
        if instance is None:
            return self
        load, arrange = instance.session.load, self.arrange
        primes = self.primes

        async def fetch(keys: list[Hashable]) -> list[ValueT]:
            rows = await load(self, keys)
            if primes is not None:
                spec: LoaderSpec[Any] = getattr(owner, primes)
                primed: Loader[Any, Any] = getattr(instance, primes)
                for row in rows:
                    primed.prime(spec.key_of(row), row)
            return arrange(keys, rows)

        loader: Loader[Any, ValueT] = Loader(fetch, instance.waves)
        instance.__dict__[self.name] = loader  # later accesses skip the descriptor
        return loader

    def arrange(self, keys: list[Hashable], rows: Sequence[Any]) -> list[ValueT]:
        raise NotImplementedError


class _OneBy(LoaderSpec["Row[Any] | None"]):
    def arrange(self, keys: list[Hashable], rows: Sequence[Any]) -> list[Row[Any] | None]:
        found = {self.key_of(row): row for row in rows}
        return [found.get(key) for key in keys]


class _ManyBy(LoaderSpec["list[Row[Any]]"]):
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
    primes: str | None = None,
) -> _ManyBy:
    """Declares a loader of every row with the given key, in `order_by` order, ties broken
    by the keyed table's primary key so an answer never changes order between two calls.

    `primes` names the `one_by` loader whose rows these are (every column of its table,
    as `@served(primes=...)`): the rows warm it, so the entities of a list are not
    fetched again, one wave later, when their fields are asked for.

    The key columns lead the ORDER BY: rows are grouped by key anyway, and a planner asked
    for `order_by` alone may walk a whole index in that order rather than search the key's
    (SQLite did: a project's month of payroll took 20 ms instead of 0.2)."""
    query = statement if statement is not None else select(_table_of(columns))
    if not order_by:
        return _ManyBy(columns, query, primes)
    leading = columns if isinstance(columns, tuple) else (columns,)
    tiebreak = [
        column
        for column in _table_of(columns).primary_key.columns
        if not any(column is named for named in (*leading, *order_by))
    ]
    return _ManyBy(columns, query.order_by(*leading, *order_by, *tiebreak), primes)


class ServedQuery(Generic[ArgsP, ResultT]):
    """A list query declared on an AgencyLoaders class (`@served`). Its body is given the
    agency's database, not the request's loaders: it runs wherever that database is, in
    this process or at the agency's service, and its arguments travel by position."""

    def __init__(
        self,
        body: Callable[Concatenate[Database, ArgsP], Awaitable[ResultT]],
        primes: str | None,
    ) -> None:
        self.body = body
        self.name = body.__name__
        self.primes = primes
        signature = inspect.signature(body)
        self.signature = signature.replace(parameters=list(signature.parameters.values())[1:])

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def positional(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
        """The arguments by position, however they were passed."""
        if not kwargs:
            return args
        bound = self.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return bound.args

    @overload
    def __get__(self, instance: None, owner: type) -> ServedQuery[ArgsP, ResultT]: ...
    @overload
    def __get__(
        self, instance: AgencyLoaders, owner: type
    ) -> Callable[ArgsP, Awaitable[ResultT]]: ...
    def __get__(
        self, instance: AgencyLoaders | None, owner: type
    ) -> ServedQuery[ArgsP, ResultT] | Callable[ArgsP, Awaitable[ResultT]]:
        if instance is None:
            return self

        async def answer(*args: ArgsP.args, **kwargs: ArgsP.kwargs) -> ResultT:
            result: ResultT = await instance.session.query(self, self.positional(args, kwargs))
            if self.primes is not None:
                spec: LoaderSpec[Any] = getattr(owner, self.primes)
                loader: Loader[Any, Any] = getattr(instance, self.primes)
                for row in result:  # type: ignore[attr-defined]
                    loader.prime(spec.key_of(row), row)
            return result

        return answer


def served(
    primes: str | None = None,
) -> Callable[
    [Callable[Concatenate[Database, ArgsP], Awaitable[ResultT]]], ServedQuery[ArgsP, ResultT]
]:
    """Marks a list query the agency answers by name, in process or over the network:

        @served(primes="worker")
        async def workers_page(database: Database, criteria: WorkerFilter, ...) -> ...:

    The body takes the agency's database first (no `self`: it may not use the request's
    loaders, which do not travel). `primes` names the loader its rows warm, so a page's
    entities are not fetched twice."""

    def mark(
        body: Callable[Concatenate[Database, ArgsP], Awaitable[ResultT]],
    ) -> ServedQuery[ArgsP, ResultT]:
        return ServedQuery(body, primes)

    return mark


def as_of_served(batches: Table) -> ServedQuery[[], list[Row[Any]]]:
    """An agency's `data_as_of`: (table_name, as_of) of each table it has sent (or seeded)
    data for, from its batch registry (`ingest.batches`):

        data_as_of = as_of_served(ImportBatch.__table__)
    """
    statement = as_of_by_table(batches)

    async def data_as_of(database: Database) -> list[Row[Any]]:
        return list(await database.fetch(statement, reused=True))

    return ServedQuery(data_as_of, None)


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
