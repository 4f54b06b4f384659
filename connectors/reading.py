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
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import URL, Dialect, Row
from sqlalchemy.engine.result import result_tuple
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger("hub.sql")

StatementListener = Callable[[str], None]


class Compiled:
    """One statement rendered for one dialect, with its result processors and row type."""

    def __init__(self, statement: Executable, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
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

    def bind(self, parameters: Mapping[str, Any] | None) -> tuple[str, Any]:
        """The SQL text with IN lists expanded, and the driver's arguments: a list for a
        positional paramstyle (aiosqlite, asyncpg, sqlite3), a dict for a named one
        (psycopg)."""
        expanded = self.compiled.construct_expanded_state(parameters)
        processors = (
            {**self.bind_processors, **expanded.processors}
            if expanded.processors
            else self.bind_processors
        )
        values = expanded.parameters

        def processed(name: str) -> Any:
            value = values[name]
            process = processors.get(name)
            return process(value) if process is not None and value is not None else value

        if expanded.positiontup is None:
            return expanded.statement, {name: processed(name) for name in values}
        return expanded.statement, [processed(name) for name in expanded.positiontup]

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
    """Compiled forms of long-lived statements (the loaders'), per statement object; a
    statement built per call is compiled per call and not kept."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self._kept: weakref.WeakKeyDictionary[Executable, Compiled] = weakref.WeakKeyDictionary()

    def get(self, statement: Executable, keep: bool) -> Compiled:
        if not keep:
            return Compiled(statement, self.dialect)
        found = self._kept.get(statement)
        if found is None:
            found = self._kept[statement] = Compiled(statement, self.dialect)
        return found


class SqliteReaders:
    """Up to `size` aiosqlite connections (a thread each), opened on demand, read-only
    (`query_only`), outside any transaction between statements."""

    def __init__(self, path: str, size: int) -> None:
        self.path = path
        self.size = size
        self._idle: asyncio.LifoQueue[aiosqlite.Connection] = asyncio.LifoQueue()
        self._opened = 0

    async def fetch(self, sql: str, arguments: list[Any]) -> list[Any]:
        connection = await self._acquire()
        try:
            return list(await connection.execute_fetchall(sql, arguments))  # one thread hop
        finally:
            self._idle.put_nowait(connection)

    async def _acquire(self) -> aiosqlite.Connection:
        if not self._idle.empty() or self._opened >= self.size:
            return await self._idle.get()
        self._opened += 1
        try:
            connection = await aiosqlite.connect(self.path)
            await connection.execute("PRAGMA busy_timeout=5000")
            await connection.execute("PRAGMA query_only=1")
        except BaseException:
            self._opened -= 1
            raise
        return connection

    async def close(self) -> None:
        while not self._idle.empty():
            await self._idle.get_nowait().close()
        self._opened = 0


class PostgresReaders:
    """An asyncpg pool of read-only sessions, created on first use in the running event
    loop (a pool cannot serve another loop: a new loop, as in tests, gets its own)."""

    def __init__(self, url: URL, size: int) -> None:
        self.dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.size = size
        self._pool: asyncio.Task[asyncpg.Pool] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def fetch(self, sql: str, arguments: list[Any]) -> list[Any]:
        loop = asyncio.get_running_loop()
        if self._pool is None or self._loop is not loop or self._pool.cancelled():
            self._loop = loop  # one pool however many first statements race for it
            self._pool = loop.create_task(self._create())
        try:
            pool = await asyncio.shield(self._pool)
        except BaseException:
            if self._pool.done():
                self._pool = None  # a failed connect is retried by the next statement
            raise
        async with pool.acquire() as connection:
            return list(await connection.fetch(sql, *arguments))

    async def _create(self) -> asyncpg.Pool:
        return await asyncpg.create_pool(
            self.dsn,
            min_size=0,
            max_size=self.size,
            server_settings={"default_transaction_read_only": "on"},
        )

    async def close(self) -> None:
        task, self._pool = self._pool, None
        if task is not None and self._loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await (await task).close()
        self._loop = None


Readers = SqliteReaders | PostgresReaders
