"""An agency's database: one URL; reads served on the driver through `storage.reading`
(with SQLAlchemy's dialect and types), an async engine for the rare write while serving,
a sync engine for migrations and bulk seeding. SQLite is the embedded default, PostgreSQL
production.

A SQLite database is a file anyone who can read it can copy, audit log and signing keys
included, so its directory is created 0700 and the file 0600 before SQLite first opens
it; SQLite gives its `-wal`, `-shm` and `-journal` files the database file's mode, and
files left wider by an older version are narrowed on open.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import stat
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Executable

from kernel.errors import ConfigurationError
from storage.keys import private_directory
from storage.pooling import ONE_KEPT
from storage.reading import (
    CompiledCache,
    PostgresReaders,
    SqliteReaders,
    StatementListener,
    log,
)

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SYNC_DRIVERS = {"sqlite": "sqlite", "postgresql": "postgresql+psycopg"}


def _with_driver(url: URL, drivers: dict[str, str]) -> URL:
    backend = url.get_backend_name()
    if backend not in drivers:
        raise ConfigurationError(
            f"unsupported database {backend!r} in {url.render_as_string(hide_password=True)}:"
            " use sqlite or postgresql"
        )
    return url.set(drivername=drivers[backend])


SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def private_sqlite_file(path: Path) -> None:
    """Creates the database file 0600 (and missing directories 0700) before SQLite does,
    and narrows an existing file of ours, and its companions, to 0600."""
    if not path.parent.exists():
        private_directory(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SQLITE_COMPANIONS)):
        with contextlib.suppress(FileNotFoundError):
            status = file.stat()
            if status.st_uid == os.geteuid() and stat.S_IMODE(status.st_mode) & 0o077:
                file.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers run while the seeder writes; busy_timeout rides out short locks."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def dialect_insert(dialect: str, table: Any) -> Any:
    """`INSERT` in the dialect's own words (its `ON CONFLICT` clauses), for "postgresql" or
    else SQLite: the dialect's module imported where a statement is built, so a hub on
    SQLite never imports PostgreSQL's (~20 CPU ms at start)."""
    name = "postgresql" if dialect == "postgresql" else "sqlite"
    return importlib.import_module(f"sqlalchemy.dialects.{name}").insert(table)


class Database:
    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 5,
        max_overflow: int = 5,
        writers: int | None = None,
    ) -> None:
        """`pool_size` + `max_overflow`: read connections; `writers`: the connections of the
        engines kept for writes (the async engine, `sync_engine(kept=True)`), the pool's
        size when None. Bounded so that several hub processes stay within PostgreSQL's
        max_connections (`hub check` adds them up)."""
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self._echo = echo
        self._pool = {"pool_size": pool_size, "max_overflow": max_overflow}
        self._writers = {"pool_size": writers, "max_overflow": 0} if writers else self._pool
        self._async_engine: AsyncEngine | None = None
        self._readers: SqliteReaders | PostgresReaders | None = None
        self._compiled: CompiledCache | None = None
        self.listeners: list[StatementListener] = []
        """Told the SQL of every read sent (the tests and the bench count statements)."""
        self._file_ready = False
        self._one_off = KeptEngine(self, kept=False, pooled=False)

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"

    def _prepare_file(self) -> None:
        """A SQLite file database's file, private, before anything opens it."""
        if self._file_ready or not self.is_sqlite:
            return
        name = self.url.database
        if name and name != ":memory:" and not name.startswith("file:"):
            private_sqlite_file(Path(name))
        self._file_ready = True

    @property
    def engine(self) -> AsyncEngine:
        """Created on first use, so building an app touches no database."""
        if self._async_engine is None:
            self._prepare_file()
            self._async_engine = create_async_engine(
                _with_driver(self.url, _ASYNC_DRIVERS), echo=self._echo, **self._writers
            )
            if self.is_sqlite:
                event.listen(self._async_engine.sync_engine, "connect", _sqlite_pragmas)
        return self._async_engine

    def sync_engine(self, *, kept: bool = False, pooled: bool = True) -> Engine:
        """A fresh engine for one-off work (migrations, seeding); the caller disposes it.
        `kept`: a store keeps it while serving (its writes), with the writers' pool;
        `pooled` False: a connection per use, closed when returned (SQLite), or on
        PostgreSQL cleared and kept for the next use, one a process (`storage.pooling`)."""
        self._prepare_file()
        pool: Mapping[str, Any] = self._writers if kept else {}
        if not kept and not pooled:
            pool = {"poolclass": NullPool} if self.is_sqlite else ONE_KEPT
        engine = create_engine(_with_driver(self.url, _SYNC_DRIVERS), echo=self._echo, **pool)
        if self.is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    def one_off_engine(self) -> Engine:
        """The engine of the connections opened for one use (an import's staging and
        reference checks, the national runner's look-ups), made on first use and kept
        until `dispose`. No session state (temporary tables, SQLite's ATTACH) passes from
        one use to the next: on SQLite each connection is closed after its use; on
        PostgreSQL the process's last one is kept for the next use, its session reset
        (`storage.pooling`: a new backend per use was a third of a small import's time).
        The dialect is set up once (on PostgreSQL a few queries at the first connection)
        and compiled statements are cached, not redone for every import and every
        national call. Made under a lock: the importing threads share it."""
        return self._one_off.get()

    @property
    def readers(self) -> SqliteReaders | PostgresReaders:
        if self._readers is None:
            self._prepare_file()
            keep = self._pool["pool_size"]
            size = keep + self._pool["max_overflow"]
            if self.is_sqlite:
                self._readers = SqliteReaders(self.url.database or ":memory:", keep, size)
            else:
                self._readers = PostgresReaders(self.url, keep, size)
        return self._readers

    async def fetch(
        self,
        statement: Executable,
        parameters: Mapping[str, Any] | None = None,
        *,
        reused: bool = False,
        raw: bool = False,
    ) -> Sequence[Any]:
        """The rows of one read. `reused`: the statement object is kept and run again
        (a loader's), so its compiled form is kept too. `raw`: the driver's tuples as
        they come, no `Row` made and no result type applied (a date may be ISO text on
        SQLite) — for month-wide reads of text and integers, a third of their cost."""
        if self._compiled is None:
            self._compiled = CompiledCache(self.engine.dialect)
        compiled, sql, arguments = self._compiled.bind(statement, parameters, reused)
        for listener in self.listeners:
            listener(sql)
        if self._echo:
            log.info("%s %r", sql, arguments)
        fetched = await self.readers.fetch(sql, arguments)
        return fetched if raw else compiled.rows(fetched)

    async def fetch_in(
        self,
        statement: Select[Any],
        column: Any,
        values: Sequence[Any] | None,
        chunk: int = 2_000,
        *,
        raw: bool = False,
    ) -> list[Any]:
        """The rows of `statement` whose `column` is among `values` (every row: None), a
        chunk of values per read (a statement's parameters are bounded); `raw` as `fetch`."""
        if values is None:
            return list(await self.fetch(statement, raw=raw))
        found: list[Any] = []
        for start in range(0, len(values), chunk):
            chosen = statement.where(column.in_(list(values[start : start + chunk])))
            found.extend(await self.fetch(chosen, raw=raw))
        return found

    async def scalar(self, statement: Executable) -> Any:
        rows = await self.fetch(statement)
        return rows[0][0] if rows else None

    async def dispose(self) -> None:
        if self._readers is not None:
            await self._readers.close()
            self._readers = None
        if self._async_engine is not None:
            await self._async_engine.dispose()
            self._async_engine = None
        self._one_off.dispose()  # its kept connection closed; the next use makes another


class KeptEngine:
    """A store's sync engine for its writes while serving, made on first use and kept.
    Stores use it from worker threads as well as the event loop's: made under a lock, so
    two threads' first uses make one engine, not two with one never disposed (whose
    pooled connections the garbage collector closed later, with a warning, anywhere)."""

    def __init__(self, database: Database, **options: bool) -> None:
        """`options`: `Database.sync_engine`'s (by default a store's, `kept=True`)."""
        self.database = database
        self.options = options or {"kept": True}
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        engine = self._engine
        if engine is None:
            with self._lock:
                if (engine := self._engine) is None:
                    engine = self._engine = self.database.sync_engine(**self.options)
        return engine

    def dispose(self) -> None:
        with self._lock:
            engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()
