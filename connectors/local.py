"""The agency's own database, in this process: the hot path of every request the hub
answers in process, and what an agency's service answers the network from
(`connectors.serving`). One statement per batch of keys; nothing per key or row is added
on the way to the database."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from sqlalchemy import Row, func, select, table

from connectors.transport import ListQuery, LookUp, Requester, Session, Transport
from storage.database import Database

# Well under SQLite's and asyncpg's bound-parameter limits, even for composite keys.
MAX_KEYS_PER_STATEMENT = 2000


class LocalTransport(Transport, Session):
    """Reads the agency's database directly. It keeps no per-request state, so it is its
    own session."""

    def __init__(self, database: Database, version_table: str) -> None:
        """`version_table`: Alembic's bookkeeping table of the agency, whose presence says
        the database has been migrated."""
        self._database = database
        self.version_table = version_table

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
        for start in range(0, len(keys), MAX_KEYS_PER_STATEMENT):
            chunk = keys[start : start + MAX_KEYS_PER_STATEMENT]
            rows.extend(await self._database.fetch(look_up.query, {"keys": chunk}, reused=True))
        return rows

    async def query(self, query: ListQuery, args: tuple[Any, ...]) -> Any:
        return await query.body(self._database, *args)

    async def check_health(self) -> None:
        """Raise unless the database answers and has been migrated."""
        await self._database.scalar(select(func.count()).select_from(table(self.version_table)))

    async def dispose(self) -> None:
        await self._database.dispose()
