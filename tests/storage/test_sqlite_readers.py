"""SQLite's reads on the event loop (`storage.reading.SqliteReaders`): a small read there,
a large or locked one on a reader's thread, with the same rows either way."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage import reading
from storage.reading import SqliteReaders

COUNTING = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)"
    " SELECT count(*), sum(x) FROM n"
)


@pytest.fixture
def path(tmp_path: Path) -> str:
    file = tmp_path / "read.db"
    with sqlite3.connect(file) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        connection.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"n{i}") for i in range(2000)])
    connection.close()
    return str(file)


def test_a_small_read_runs_on_the_loop(path: str) -> None:
    readers = SqliteReaders(path, keep=2, size=4)

    async def read() -> list[object]:
        try:
            return await readers.fetch("SELECT name FROM t WHERE id = ?", [7])
        finally:
            assert readers._opened == 0  # no reader's thread was needed
            await readers.close()

    assert asyncio.run(read()) == [("n7",)]


def test_a_read_past_its_budget_runs_on_a_thread_and_is_remembered(path: str) -> None:
    """Stopped on the loop after `loop_steps`, run again in full on a thread; the
    statement goes to a thread at once the next time."""
    readers = SqliteReaders(path, keep=2, size=4)
    readers.loop_steps = 1_000
    ran: list[str] = []

    async def read() -> tuple[list[object], list[object]]:
        try:
            first = await readers.fetch(COUNTING, [100_000])
            ran.append(f"opened {readers._opened}")
            second = await readers.fetch(COUNTING, [10])
            return first, second
        finally:
            await readers.close()

    original = readers._fetch_on_loop

    def on_loop(sql: str, arguments: list[object]) -> list[object] | None:
        ran.append("loop")
        return original(sql, arguments)

    readers._fetch_on_loop = on_loop  # type: ignore[method-assign]
    first, second = asyncio.run(read())
    assert first == [(100_000, 100_000 * 100_001 // 2)]
    assert second == [(10, 55)]  # small this time, but the statement is known as large
    assert ran == ["loop", "opened 1"]


def test_a_small_read_run_again_and_again_stays_on_the_loop(path: str) -> None:
    """The budget is a run's: SQLite counts a cached statement's steps on from run to run,
    and a read of a few hundred steps must not be stopped on its hundredth run."""
    readers = SqliteReaders(path, keep=2, size=4)
    readers.loop_steps = 5_000

    async def read() -> list[list[object]]:
        try:
            return [await readers.fetch(COUNTING, [100]) for _ in range(300)]
        finally:
            assert readers._opened == 0
            await readers.close()

    assert asyncio.run(read()) == [[(100, 5050)]] * 300
    assert not readers._large


def test_a_read_of_many_rows_runs_on_a_thread(path: str) -> None:
    readers = SqliteReaders(path, keep=2, size=4)

    async def read() -> tuple[list[object], int]:
        try:
            return await readers.fetch("SELECT id FROM t ORDER BY id", []), readers._opened
        finally:
            await readers.close()

    rows, opened = asyncio.run(read())
    assert rows == [(i,) for i in range(2000)]
    assert len(rows) > reading.LOOP_ROWS
    assert opened == 1


def test_a_locked_database_is_read_on_a_thread_that_waits(tmp_path: Path) -> None:
    """A rollback-journal database a writer holds exclusively: the loop's connection does
    not wait (busy_timeout 0), a reader's thread waits for the writer's commit."""
    path = str(tmp_path / "locked.db")
    writer = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
    writer.execute("BEGIN EXCLUSIVE")
    writer.execute("INSERT INTO t VALUES (1)")
    readers = SqliteReaders(path, keep=2, size=4)

    async def read() -> tuple[list[object], int]:
        asyncio.get_running_loop().call_later(0.2, writer.execute, "COMMIT")
        try:
            return await readers.fetch("SELECT id FROM t", []), readers._opened
        finally:
            await readers.close()

    try:
        assert asyncio.run(read()) == ([(1,)], 1)
    finally:
        writer.close()


def test_a_statement_error_keeps_the_loop_connection(path: str) -> None:
    readers = SqliteReaders(path, keep=2, size=4)

    async def read() -> list[object]:
        try:
            await readers.fetch("SELECT id FROM t", [])
            kept = readers._on_loop
            with pytest.raises(sqlite3.OperationalError, match="no such table"):
                await readers.fetch("SELECT id FROM missing", [])
            with pytest.raises(sqlite3.OperationalError, match="readonly"):
                await readers.fetch("DELETE FROM t", [])
            assert readers._on_loop is kept
            return await readers.fetch("SELECT count(*) FROM t", [])
        finally:
            await readers.close()

    assert asyncio.run(read()) == [(2000,)]


def test_each_loop_reads_on_a_connection_of_its_own(path: str) -> None:
    """A loop that has ended (a test's, a command's `asyncio.run`) leaves its connection
    behind: the next loop's first read closes it and opens another."""
    readers = SqliteReaders(path, keep=2, size=4)
    seen: list[sqlite3.Connection | None] = []

    async def read() -> list[object]:
        rows = await readers.fetch("SELECT name FROM t WHERE id = 1", [])
        seen.append(readers._on_loop)
        return rows

    assert asyncio.run(read()) == [("n1",)]
    assert asyncio.run(read()) == [("n1",)]
    first, second = seen
    assert first is not None
    assert second is not None
    assert first is not second
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.execute("SELECT 1")
    asyncio.run(readers.close())
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        second.execute("SELECT 1")
