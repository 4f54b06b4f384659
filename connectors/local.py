"""The agency's own database, in this process: the hot path of every request the hub
answers in process, and what an agency's service answers the network from
(`connectors.serving`). One statement per batch of keys; nothing per key or row is added
on the way to the database."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Hashable, Iterator
from typing import Any

from sqlalchemy import Row, func, select, table

from connectors.transport import ListQuery, LookUp, Requester, Session, Transport
from kernel.metrics import CONNECTOR_CALLS, CONNECTOR_DURATION
from kernel.tracing import tracer
from storage.database import Database

# Well under SQLite's and asyncpg's bound-parameter limits, even for composite keys.
MAX_KEYS_PER_STATEMENT = 2000


class LocalTransport(Transport, Session):
    """Reads the agency's database directly. It keeps no per-request state, so it is its
    own session."""

    def __init__(self, database: Database, version_table: str, agency: str = "") -> None:
        """`version_table`: Alembic's bookkeeping table of the agency, whose presence says
        the database has been migrated; `agency` names it in metrics and traces."""
        self._database = database
        self.version_table = version_table
        self.agency = agency or version_table.removeprefix("alembic_version_")
        self._calls = CONNECTOR_CALLS.labels(self.agency, "local", "ok")
        self._failures = CONNECTOR_CALLS.labels(self.agency, "local", "error")
        self._duration = CONNECTOR_DURATION.labels(self.agency, "local")

    @property
    def database(self) -> Database:
        return self._database

    def describe(self) -> str:
        return repr(self._database)

    def session(self, requester: Requester | None) -> LocalTransport:
        return self

    async def load(self, look_up: LookUp, keys: list[Hashable]) -> list[Row[Any]]:
        """Every row matching the keys, in chunks the drivers accept."""
        rows: list[Row[Any]] = []
        with self._measured():
            for start in range(0, len(keys), MAX_KEYS_PER_STATEMENT):
                chunk = keys[start : start + MAX_KEYS_PER_STATEMENT]
                parameters = look_up.parameters(chunk)
                rows.extend(await self._database.fetch(look_up.query, parameters, reused=True))
        return rows

    async def query(self, query: ListQuery, args: tuple[Any, ...]) -> Any:
        with self._measured():
            return await query.body(self._database, *args)

    @contextlib.contextmanager
    def _measured(self) -> Iterator[None]:
        """Counted and timed (`kernel.metrics`), and a span under the request's wave."""
        started = time.perf_counter()
        with tracer.start_as_current_span("connector.load", attributes={"hub.agency": self.agency}):
            try:
                yield
            except BaseException:
                self._failures.inc()
                raise
            self._calls.inc()
            self._duration.observe(time.perf_counter() - started)

    async def check_health(self) -> None:
        """Raise unless the database answers and has been migrated."""
        await self._database.scalar(select(func.count()).select_from(table(self.version_table)))

    async def dispose(self) -> None:
        await self._database.dispose()
