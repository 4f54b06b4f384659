"""The read path: statements built with SQLAlchemy Core, compiled by SQLAlchemy for the
serving driver, run on that driver directly (aiosqlite, asyncpg).

Why not `AsyncConnection.execute`: serving is almost all small keyed reads, and there
SQLAlchemy's per-execution machinery (pool checkout and reset, greenlet hops, execution
context, result metadata) cost 0.57 ms a statement on SQLite and 0.73 on PostgreSQL,
against 0.13 and 0.09 for the driver alone (measured on the bench's small data set). What
SQLAlchemy is kept for: building the statement, rendering it for the dialect (expanding
IN lists, casts), and its own type processors on the way in and out, so rows hold the same
Python values as before. Rows are SQLAlchemy `Row`s (attribute access, `_mapping`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import aiosqlite
from sqlalchemy.engine import URL, Dialect, Row
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.sql import Executable
from sqlalchemy.sql.cache_key import CacheKey
from sqlalchemy.sql.compiler import SQLCompiler

from kernel.deferred import deferred
from kernel.errors import BadUserInput
from kernel.inputs import NUL

if TYPE_CHECKING:
    import asyncpg  # type: ignore[import-untyped]
else:
    asyncpg = deferred("asyncpg")  # PostgreSQL's serving driver, with its first reader

log = logging.getLogger("hub.sql")

StatementListener = Callable[[str], None]
ConnectionT = TypeVar("ConnectionT")


_PLANS_KEPT = 256
"""Parameter shapes a statement keeps the plan of (a loader's batch sizes)."""
_SHAPES_KEPT = 512
"""Shapes of statements built per call whose compiled form a database keeps (the code's
own: a few hundred; more, as from shapes built per input, and the kept ones go)."""


class _Slot:
    """Where an argument comes from: a parameter, the position in its list, in its tuple."""

    __slots__ = ("index", "inner", "name")

    def __init__(self, name: str, index: int | None = None, inner: int | None = None) -> None:
        self.name, self.index, self.inner = name, index, inner


def _slots(name: str, value: Any) -> Any:
    if not isinstance(value, list | tuple):
        return _Slot(name)
    return [
        tuple(_Slot(name, i, j) for j in range(len(item)))
        if isinstance(item, tuple)
        else _Slot(name, i)
        for i, item in enumerate(value)
    ]


class _Plan:
    """One parameter shape of a reused statement: its SQL text and, per positional
    argument, its slot (or the statement's own constant) and bind processor."""

    def __init__(self, sql: str, steps: list[tuple[_Slot | None, Any, Any]]) -> None:
        self.sql = sql
        self.steps = steps

    @classmethod
    def of(
        cls, compiled: Compiled, parameters: Mapping[str, Any], bound: tuple[str, Any]
    ) -> _Plan | None:
        """The plan, found by expanding slots in place of the values; None when the
        statement is not positional, or the plan does not give exactly what SQLAlchemy
        gave (`bound`) for these parameters."""
        expanded = compiled.compiled.construct_expanded_state(
            {name: _slots(name, value) for name, value in parameters.items()}
        )
        if expanded.positiontup is None:
            return None
        processors = {**compiled.bind_processors, **expanded.processors}
        steps: list[tuple[_Slot | None, Any, Any]] = []
        for name in expanded.positiontup:
            value = expanded.parameters[name]
            if isinstance(value, list | tuple):  # slots left unexpanded: not a plain list
                return None
            slot = value if isinstance(value, _Slot) else None
            steps.append((slot, None if slot else value, processors.get(name)))
        plan = cls(expanded.statement, steps)
        try:
            same = (plan.sql, plan.arguments(parameters)) == bound
        except (LookupError, TypeError):
            same = False
        return plan if same else None

    def arguments(self, parameters: Mapping[str, Any]) -> list[Any]:
        found = []
        for slot, constant, process in self.steps:
            if slot is None:
                value = constant
            else:
                value = parameters[slot.name]
                if slot.index is not None:
                    value = value[slot.index]
                    if slot.inner is not None:
                        value = value[slot.inner]
            if type(value) is str and NUL in value:
                raise BadUserInput("a text argument holds a NUL character")
            found.append(process(value) if process is not None and value is not None else value)
        return found


_UNPLANNED: Any = object()


class Compiled:
    """One statement rendered for one dialect, with its result processors and row type."""

    def __init__(
        self,
        statement: Executable,
        dialect: Dialect,
        reused: bool = False,
        cache_key: CacheKey | None = None,
    ) -> None:
        """`cache_key`: the statement's, so that statements of its shape (the same cache
        key but other values) are bound with this rendering (`bind`'s `key`)."""
        compiled = statement.compile(dialect=dialect, cache_key=cache_key)  # type: ignore[attr-defined]
        assert isinstance(compiled, SQLCompiler)
        self.compiled = compiled
        # Every parameter's processor: the expanded state carries only the expanded ones'.
        self.bind_processors: dict[str, Any] = dict(compiled._bind_processors)
        columns = list(getattr(statement, "exported_columns", ()))  # a SELECT or RETURNING
        processors = [
            column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns
        ]
        self.converted = [(i, p) for i, p in enumerate(processors) if p is not None]
        self.make_row = result_tuple([column.key for column in columns])
        self._plans: dict[tuple[Any, ...], _Plan | None] | None = (
            {} if reused and not compiled.literal_execute_params else None
        )
        self._many: dict[tuple[str, ...], tuple[str, list[tuple[str, Any]], bool]] = {}
        """`bind_many`'s text and steps per row's keys, for a reused statement."""

    def bind(
        self, parameters: Mapping[str, Any] | None, key: CacheKey | None = None
    ) -> tuple[str, Any]:
        """The SQL text with IN lists expanded, and the driver's arguments: a list for a
        positional paramstyle (asyncpg, sqlite3), a dict for a named one (psycopg).
        `key`: the cache key of a statement of this one's shape (compiled with its own),
        whose values are bound instead of this one's.

        A reused statement (a loader's) keeps, per shape of its parameters (the length of
        each list), the text and where each argument comes from: expanding a batch's IN
        list through SQLAlchemy was a tenth of a request's CPU (bench.profile, dossier)."""
        plans = self._plans
        if plans is None or not parameters or key is not None:
            return self._bind(parameters, key)
        shape = tuple(
            (name, len(value)) if isinstance(value, list | tuple) else name
            for name, value in parameters.items()
        )
        plan = plans.get(shape, _UNPLANNED)
        if plan is _UNPLANNED:
            bound = self._bind(parameters)
            if len(plans) < _PLANS_KEPT:
                plans[shape] = _Plan.of(self, parameters, bound)
            return bound
        if plan is None:
            return self._bind(parameters)
        return plan.sql, plan.arguments(parameters)

    def _bind(
        self, parameters: Mapping[str, Any] | None, key: CacheKey | None = None
    ) -> tuple[str, Any]:
        compiled = self.compiled
        if key is None:
            expanded = compiled.construct_expanded_state(parameters)
        else:  # as SQLAlchemy's own execution binds a cached compilation's values
            expanded = compiled._process_parameters_for_postcompile(
                compiled.construct_params(
                    parameters,
                    extracted_parameters=key.bindparams,
                    _no_postcompile=True,
                    _collected_params=key.params,
                )
            )
        processors = (
            {**self.bind_processors, **expanded.processors}
            if expanded.processors
            else self.bind_processors
        )
        values = expanded.parameters

        def processed(name: str) -> Any:
            value = values[name]
            if type(value) is str and NUL in value:
                # PostgreSQL refuses NUL in text, and no record holds one: on every
                # backend a caller's text with one is bad input, never a driver's error.
                raise BadUserInput("a text argument holds a NUL character")
            process = processors.get(name)
            return process(value) if process is not None and value is not None else value

        if expanded.positiontup is None:
            return expanded.statement, {name: processed(name) for name in values}
        return expanded.statement, [processed(name) for name in expanded.positiontup]

    def bind_many(self, rows: Sequence[Mapping[str, Any]]) -> tuple[str, list[Any]]:
        """The SQL text and every row's arguments, for `executemany`. A statement without
        IN lists to expand is rendered once and each row only has its values processed
        (binding each row through SQLAlchemy cost 17 µs, most of a large audit record);
        a reused one keeps that rendering per row's keys (rendering it again was a tenth
        of the audit writer's CPU a one-record batch)."""
        keys = tuple(rows[0])
        found = self._many.get(keys)
        if found is None:
            expanded = self.compiled.construct_expanded_state(rows[0])
            order = expanded.positiontup
            names = order if order is not None else list(expanded.parameters)
            if expanded.processors or not set(names) <= set(rows[0]):  # IN lists, literals
                bound = [self.bind(row) for row in rows]
                return bound[0][0], [arguments for _, arguments in bound]
            processors = self.bind_processors
            found = expanded.statement, [(n, processors.get(n)) for n in names], order is not None
            if self._plans is not None and len(self._many) < _PLANS_KEPT:
                self._many[keys] = found
        statement, steps, positional = found

        def arguments(row: Mapping[str, Any]) -> list[Any]:
            return [
                process(row[name]) if process is not None and row[name] is not None else row[name]
                for name, process in steps
            ]

        if positional:
            return statement, [arguments(row) for row in rows]
        names = [name for name, _ in steps]
        return statement, [dict(zip(names, arguments(row), strict=True)) for row in rows]

    def rows(self, raw: Sequence[Sequence[Any]]) -> list[Row[Any]]:
        make_row = self.make_row
        if not self.converted:
            return [make_row(tuple(values)) for values in raw]
        converted = self.converted
        rows = []
        for values in raw:
            row = list(values)
            for index, process in converted:
                row[index] = process(row[index])
            rows.append(make_row(tuple(row)))
        return rows


class CompiledCache:
    """Compiled forms of long-lived statements (the loaders'), per statement object, and of
    statements built per call, per shape (SQLAlchemy's cache key: the statement but its
    values), as SQLAlchemy's own execution keeps them: compiling a statement built per
    call (the dashboard's pages and counts, a project list) was 0.4 ms of CPU each time,
    its cache key 0.02 ms."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._kept: weakref.WeakKeyDictionary[Executable, Compiled] = weakref.WeakKeyDictionary()
        self._shapes: dict[Any, Compiled] = {}

    def get(self, statement: Executable) -> Compiled:
        """A long-lived statement's compiled form, kept as long as the statement lives."""
        found = self._kept.get(statement)
        if found is None:
            found = self._kept[statement] = Compiled(statement, self.dialect, reused=True)
        return found

    def bind(
        self, statement: Executable, parameters: Mapping[str, Any] | None, keep: bool
    ) -> tuple[Compiled, str, Any]:
        """The compiled form (`keep`: kept for this statement object, else for its shape),
        with `Compiled.bind`'s text and arguments of this statement's values."""
        if keep:
            compiled = self.get(statement)
            return compiled, *compiled.bind(parameters)
        key = statement._generate_cache_key()  # type: ignore[attr-defined]
        if key is None:  # a construct SQLAlchemy does not cache either
            compiled = Compiled(statement, self.dialect)
            return compiled, *compiled.bind(parameters)
        shaped = self._shapes.get(key.key)
        if shaped is None:
            if len(self._shapes) >= _SHAPES_KEPT:
                self._shapes.clear()
            shaped = self._shapes[key.key] = Compiled(statement, self.dialect, cache_key=key)
        return shaped, *shaped.bind(parameters, key)


class Readers(Generic[ConnectionT]):
    """Connections of one database, opened on demand: at most `size` at once, and at most
    `keep` kept idle (a burst's extra connections are closed when returned, as
    SQLAlchemy's overflow is), so a few hub processes stay within PostgreSQL's
    max_connections. Connections belong to the event loop that opened them; another loop
    (as in tests) starts afresh."""

    def __init__(self, keep: int, size: int) -> None:
        self.keep = keep
        self.size = size
        self._reset(None)

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        for connection in getattr(self, "_idle", ()):  # another loop's: cannot be awaited
            with contextlib.suppress(Exception):
                self._abandon(connection)
        self._loop = loop
        self._idle: list[ConnectionT] = []
        self._opened = 0
        self._returned = asyncio.Condition() if loop is not None else None

    async def fetch(self, sql: str, arguments: list[Any]) -> list[Any]:
        connection = await self._acquire()
        loop = self._loop
        healthy = False
        try:
            rows = await self._run(connection, sql, arguments)
            healthy = True
        except Exception as error:
            healthy = self._still_usable(error)
            raise
        finally:
            if self._loop is loop:
                await self._release(connection, healthy)
            else:  # the pool started afresh for another loop meanwhile
                with contextlib.suppress(Exception):
                    self._abandon(connection)
        return rows

    async def _acquire(self) -> ConnectionT:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            self._reset(loop)
        assert self._returned is not None
        async with self._returned:
            while not self._idle and self._opened >= self.size:
                await self._returned.wait()
            if self._idle:
                return self._idle.pop()
            self._opened += 1
        try:
            return await self._connect()
        except BaseException:
            await self._release(None, False)
            raise

    async def _release(self, connection: ConnectionT | None, healthy: bool) -> None:
        assert self._returned is not None
        async with self._returned:
            if connection is not None and healthy and len(self._idle) < self.keep:
                self._idle.append(connection)
                self._returned.notify()
                return
            self._opened -= 1
            self._returned.notify()
        if connection is not None:
            with contextlib.suppress(Exception):
                await self._disconnect(connection)

    async def close(self) -> None:
        if self._loop is asyncio.get_running_loop():
            idle, self._idle = self._idle, []
            for connection in idle:
                with contextlib.suppress(Exception):
                    await self._disconnect(connection)
        self._reset(None)

    async def _connect(self) -> ConnectionT:
        raise NotImplementedError

    async def _run(self, connection: ConnectionT, sql: str, arguments: list[Any]) -> list[Any]:
        raise NotImplementedError

    async def _disconnect(self, connection: ConnectionT) -> None:
        raise NotImplementedError

    def _abandon(self, connection: ConnectionT) -> None:
        """Closes a connection of a loop that is gone, without awaiting anything (an
        aiosqlite connection left open would keep its thread, and the process, alive)."""
        raise NotImplementedError

    def _still_usable(self, error: Exception) -> bool:
        """Whether a connection whose statement failed may serve the next one."""
        return False


LOOP_STEPS = 50_000
"""SQLite virtual-machine steps a read may take on the event loop before it is stopped
and run again on a reader's thread (see `SqliteReaders`): about 1 ms."""

LOOP_ROWS = 500
"""Rows a read may return on the event loop (making them is Python's work: about 1 ms)."""

_STEPS_A_TICK = 1_000
"""How often the progress handler is called: every so many steps of a statement counted
since it was prepared (a cached statement's count goes on from run to run), so it counts
the ticks of each run itself."""

_LARGE_KEPT = 256
"""Statements remembered as too large for the event loop."""

_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_INTERRUPT = 5, 6, 9


def sqlite_locked(error: sqlite3.Error) -> bool:
    """SQLite refused for a lock another connection holds (busy or locked): a connection
    that never waits (`busy_timeout` 0) leaves the work to one that does."""
    return error.sqlite_errorcode & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


class SqliteReaders(Readers[aiosqlite.Connection]):
    """Small reads on the event loop, the rest on aiosqlite connections (a thread each).
    Every connection is read-only (`query_only`) and outside any transaction between
    statements.

    A keyed read of a local file takes tens of µs; a thread hop costs more than that (the
    result waits for the GIL the loop holds). So a read runs first on the loop, on a plain
    sqlite3 connection of its own, within a budget: past `loop_steps` steps of SQLite's
    virtual machine (`set_progress_handler`) it is interrupted, remembered as large, and
    run on a thread — as is a read that finds the database locked (`busy_timeout` 0 on
    the loop's connection: the loop never waits for a lock), and one that returns more than
    `LOOP_ROWS` rows. The worst a read costs the loop is then `loop_steps` steps and
    `LOOP_ROWS` rows made, about 2 ms on the bench's machine, and the reading of pages
    that are not in the OS's cache (the files are local). `loop_steps` 0: every read on
    a thread."""

    loop_steps = LOOP_STEPS

    def __init__(self, path: str, keep: int, size: int) -> None:
        self._on_loop: sqlite3.Connection | None = None
        self._large: dict[str, None] = {}
        self._ticks = 0
        super().__init__(keep, size)
        self.path = path

    def _reset(self, loop: asyncio.AbstractEventLoop | None) -> None:
        on_loop, self._on_loop = self._on_loop, None
        if on_loop is not None:
            with contextlib.suppress(Exception):
                on_loop.close()
        super()._reset(loop)

    async def fetch(self, sql: str, arguments: list[Any]) -> list[Any]:
        if self.loop_steps and sql not in self._large:
            if self._loop is not asyncio.get_running_loop():
                self._reset(asyncio.get_running_loop())
            rows = self._fetch_on_loop(sql, arguments)
            if rows is not None:
                return rows
        return await super().fetch(sql, arguments)

    def _fetch_on_loop(self, sql: str, arguments: list[Any]) -> list[Any] | None:
        """The rows, or None when the read is to run on a thread instead."""
        connection = self._on_loop
        if connection is None:
            connection = self._on_loop = self._connect_on_loop()
        self._ticks = 0
        try:
            cursor = connection.execute(sql, arguments)
            try:
                rows = cursor.fetchmany(LOOP_ROWS + 1)
            finally:
                cursor.close()  # a statement stopped early must not keep its snapshot
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode & 0xFF == _SQLITE_INTERRUPT:
                self._too_large(sql)
                return None
            if sqlite_locked(error):
                return None
            raise
        if len(rows) > LOOP_ROWS:
            self._too_large(sql)
            return None
        return rows

    def _too_large(self, sql: str) -> None:
        if len(self._large) >= _LARGE_KEPT:
            del self._large[next(iter(self._large))]
        self._large[sql] = None

    def _connect_on_loop(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, cached_statements=_PLANS_KEPT
        )
        connection.execute("PRAGMA busy_timeout=0")
        connection.execute("PRAGMA query_only=1")
        connection.set_progress_handler(self._tick, _STEPS_A_TICK)
        return connection

    def _tick(self) -> bool:
        """The progress handler: True stops the statement, past its budget."""
        self._ticks += 1
        return self._ticks * _STEPS_A_TICK > self.loop_steps

    async def _connect(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(self.path)
        worker = getattr(pending, "_thread", None)
        if isinstance(worker, threading.Thread) and not worker.is_alive():
            # A reader left open (a command or test that never disposes) must not keep
            # the process from exiting; it only reads, so stopping it mid-way loses nothing.
            worker.daemon = True
        connection = await pending
        await connection.execute("PRAGMA busy_timeout=5000")
        await connection.execute("PRAGMA query_only=1")
        return connection

    async def _run(
        self, connection: aiosqlite.Connection, sql: str, arguments: list[Any]
    ) -> list[Any]:
        return list(await connection.execute_fetchall(sql, arguments))  # one thread hop

    async def _disconnect(self, connection: aiosqlite.Connection) -> None:
        await connection.close()

    def _abandon(self, connection: aiosqlite.Connection) -> None:
        connection.stop()

    def _still_usable(self, error: Exception) -> bool:
        return isinstance(error, sqlite3.Error)  # a statement's error, not the connection's


class PostgresReaders(Readers["asyncpg.Connection"]):
    """asyncpg connections in read-only sessions (`default_transaction_read_only`)."""

    def __init__(self, url: URL, keep: int, size: int) -> None:
        super().__init__(keep, size)
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(
            self.dsn, server_settings={"default_transaction_read_only": "on"}
        )

    async def _run(
        self, connection: asyncpg.Connection, sql: str, arguments: list[Any]
    ) -> list[Any]:
        return list(await connection.fetch(sql, *arguments))

    async def _disconnect(self, connection: asyncpg.Connection) -> None:
        await connection.close(timeout=5)

    def _abandon(self, connection: asyncpg.Connection) -> None:
        abandon_asyncpg(connection)

    def _still_usable(self, error: Exception) -> bool:
        return isinstance(error, asyncpg.PostgresError)  # the server refused a statement


def abandon_asyncpg(connection: asyncpg.Connection) -> None:
    """Closes it without awaiting. A connection of a loop that has ended (a test's, a
    command's `asyncio.run`) cannot close through that loop ('Event loop is closed', its
    socket left open): its transport is closed as the loop would have closed it."""
    transport = getattr(connection, "_transport", None)
    loop = getattr(transport, "_loop", None)
    if loop is not None and loop.is_closed():
        with contextlib.suppress(Exception):
            transport._call_connection_lost(None)  # type: ignore[union-attr]
    with contextlib.suppress(Exception):
        connection.terminate()
