"""The read path runs SQLAlchemy's compiled statements on the driver directly: its rows
must be exactly the rows SQLAlchemy's own execution gives, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import URL
from sqlalchemy.sql import Executable

from auth.store import key_t
from conftest import RunningHub
from connectors.base import Connector
from connectors.housing.loaders import HousingLoaders
from storage.database import Database
from storage.reading import SqliteReaders

ROOT = Path(__file__).resolve().parents[2]


async def _both_ways(
    url: URL, statements: dict[str, tuple[Executable, dict[str, Any] | None]]
) -> list[tuple[str, Any, Any]]:
    """Per statement: its rows through `Database.fetch` and through
    `AsyncConnection.execute`."""
    database = Database(url.render_as_string(hide_password=False))
    compared = []
    try:
        for name, (statement, parameters) in statements.items():
            ours = await database.fetch(statement, parameters)
            async with database.engine.connect() as connection:
                theirs = (await connection.execute(statement, parameters)).all()
            compared.append((name, ours, theirs))
    finally:
        await database.dispose()
    return compared


async def _loader_statements(
    connector: Connector,
) -> dict[str, tuple[Executable, dict[str, Any] | None]]:
    """Each loader's statement with a few real keys."""
    database = Database(connector.database.url.render_as_string(hide_password=False))
    statements: dict[str, tuple[Executable, dict[str, Any] | None]] = {}
    try:
        for name, spec in connector.loaders.loader_specs().items():
            columns = spec.columns if isinstance(spec.columns, tuple) else (spec.columns,)
            sample = await database.fetch(
                select(*columns).where(*(c.is_not(None) for c in columns)).limit(3)
            )
            keys = [tuple(row) if len(columns) > 1 else row[0] for row in sample]
            statements[name] = (spec.query, spec.parameters(keys))
    finally:
        await database.dispose()
    return statements


def test_rows_are_sqlalchemys_rows(hub: RunningHub) -> None:
    """Every loader's rows, and the auth store's (time-zone-aware datetimes)."""
    compared = [
        (f"{connector.name}.{name}", ours, theirs)
        for connector in hub.connectors
        for name, ours, theirs in asyncio.run(
            _both_ways(connector.database.url, asyncio.run(_loader_statements(connector)))
        )
    ]
    oldest = min(key.created_at for key in hub.auth.signing_keys())
    compared += asyncio.run(
        _both_ways(
            hub.auth.database.url,
            {
                "auth.keys": (select(key_t), None),
                # a time-zone-aware parameter, bound as SQLAlchemy stores it
                "auth.keys since": (select(key_t).where(key_t.c.created_at >= oldest), None),
            },
        )
    )
    typed: set[type] = set()
    for name, ours, theirs in compared:
        assert ours, f"{name} found nothing to compare"
        assert [tuple(r) for r in ours] == [tuple(r) for r in theirs], name
        assert [r._mapping for r in ours] == [r._mapping for r in theirs], name
        for row in ours:
            typed.update(type(value) for value in row)
            aware = [v for v in row if isinstance(v, datetime)]
            assert all(v.tzinfo is not None for v in aware), name
    assert {date, datetime, bool, int, str} <= typed  # converted, not driver text


def test_a_loader_statement_is_compiled_once(hub: RunningHub) -> None:
    async def twice() -> tuple[int, list[str]]:
        housing = next(c for c in hub.connectors if c.name == "housing")
        database = Database(housing.database.url.render_as_string(hide_password=False))
        sent: list[str] = []
        database.listeners.append(sent.append)
        try:
            query = HousingLoaders.worker.query
            await database.fetch(query, {"keys": ["x"]}, reused=True)
            await database.fetch(query, {"keys": ["x", "y"]}, reused=True)
            assert database._compiled is not None
            return len(database._compiled._kept), sent
        finally:
            await database.dispose()

    kept, sent = asyncio.run(twice())
    assert kept == 1
    assert len(sent) == 2
    assert sent[0] != sent[1]  # the IN list expanded to each call's keys


def test_reads_cannot_write(hub: RunningHub) -> None:
    async def write() -> None:
        housing = next(c for c in hub.connectors if c.name == "housing")
        database = Database(housing.database.url.render_as_string(hide_password=False))
        try:
            await database.fetch(text("DELETE FROM housing_worker"))
        finally:
            await database.dispose()

    with pytest.raises(Exception, match=r"readonly|read-only"):
        asyncio.run(write())


def test_reads_share_a_bounded_pool_and_keep_few_connections(hub: RunningHub) -> None:
    """Twenty concurrent reads on a database allowed 2 + 2 connections: never more than
    four open, and two kept once the burst is over (PostgreSQL's max_connections is
    shared by every hub process). SQLite's reads all on threads here, none on the loop."""
    housing = next(c for c in hub.connectors if c.name == "housing")

    async def burst() -> tuple[int, int, int]:
        database = Database(
            housing.database.url.render_as_string(hide_password=False),
            pool_size=2,
            max_overflow=2,
        )
        if isinstance(database.readers, SqliteReaders):
            database.readers.loop_steps = 0
        most = 0

        def opened(_sql: str) -> None:
            nonlocal most
            most = max(most, database.readers._opened)

        database.listeners.append(opened)
        try:
            statement = select(HousingLoaders.worker.query.selected_columns[0]).limit(200)
            answers = await asyncio.gather(*(database.fetch(statement) for _ in range(20)))
            assert all(len(rows) == 200 for rows in answers)
            return most, database.readers._opened, len(database.readers._idle)
        finally:
            await database.dispose()

    most, opened, idle = asyncio.run(burst())
    assert 1 < most <= 4
    assert (opened, idle) == (2, 2)


def test_a_process_that_never_disposes_its_readers_still_exits(hub: RunningHub) -> None:
    """aiosqlite runs each connection in a thread; a reader left open (a command or a
    loop that ended without `dispose`) must not hold the process at exit."""
    url = next(c for c in hub.connectors if c.name == "housing").database.url
    script = (
        "import asyncio\n"
        "from sqlalchemy import text\n"
        "from storage.database import Database\n"
        f"database = Database({url.render_as_string(hide_password=False)!r})\n"
        "async def read():\n"
        "    return await database.fetch(text('SELECT 1'))\n"
        "assert asyncio.run(read()) == [(1,)]\n"
        "assert asyncio.run(read()) == [(1,)]  # the first loop's connection is abandoned\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, timeout=60, capture_output=True, text=True
    )
    assert finished.returncode == 0, finished.stderr
