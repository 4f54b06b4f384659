"""SQLite's audit commit on the event loop (`AuditStore._write_on_loop`): written there
while the write lock is free, on the worker thread (which waits) while another connection
holds it, and on the thread one batch in `THREAD_EVERY`, whose connection checkpoints the
write-ahead log. The chain is the same either way."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import Chain, entry, fresh_chain

from audit import store as store_module

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def threaded(monkeypatch: pytest.MonkeyPatch) -> Callable[[object], list[str]]:
    """The methods a store ran in a worker thread (not another store's, not the process's
    other threads', such as a hub the tests serve)."""
    ran: list[tuple[object, str]] = []
    to_thread = asyncio.to_thread

    async def counted(function: Callable[..., Any], /, *args: Any) -> Any:
        ran.append((getattr(function, "__self__", None), function.__name__))
        return await to_thread(function, *args)

    monkeypatch.setattr(store_module.asyncio, "to_thread", counted)
    return lambda store: [name for owner, name in ran if owner is store]


def test_batches_are_written_on_the_loop_and_one_in_so_many_on_the_thread(
    tmp_path: Path, threaded: Callable[[object], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "THREAD_EVERY", 4)
    with fresh_chain("sqlite", tmp_path, "hub_loop_commit") as chain:
        assert chain.append(10) == list(range(1, 11))
        # the 5th batch and the 10th on the thread
        assert threaded(chain.audit) == ["_write_in_thread", "_write_in_thread"]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()
        assert report.checkpoints >= 2


def test_a_write_lock_held_elsewhere_is_waited_for_on_the_thread(
    tmp_path: Path, threaded: Callable[[object], list[str]]
) -> None:
    with fresh_chain("sqlite", tmp_path, "hub_loop_locked") as chain:
        path = chain.audit.database.url.database
        assert path
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")  # another process's write under way
        assert _appended_while_held(chain, other) == [1, 2, 3]
        # the first on the thread; the lock was free for the others
        assert threaded(chain.audit) == ["_write_in_thread"]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def test_a_batch_of_many_entities_is_written_on_the_thread(
    tmp_path: Path, threaded: Callable[[object], list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import's record indexes thousands of entities: not on the event loop."""
    monkeypatch.setattr(store_module, "FAST_ENTITIES", 1)  # each record here has two
    with fresh_chain("sqlite", tmp_path, "hub_loop_large") as chain:
        assert chain.append(2) == [1, 2]
        assert threaded(chain.audit) == ["_write_in_thread", "_write_in_thread"]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def test_a_commit_that_finds_a_reader_is_written_on_the_thread(
    tmp_path: Path, threaded: Callable[[object], list[str]]
) -> None:
    """Without a write-ahead log (a file system that cannot share its index refuses WAL, and
    the rollback journal stays) a commit waits for every reader to be gone. On the loop,
    which waits for no lock, a reader at COMMIT raised 'database is locked' and the records
    were refused, though nothing had been committed: they go to the thread, which waits."""
    with fresh_chain("sqlite", tmp_path, "hub_loop_journal") as chain:
        path = chain.audit.database.url.database
        assert path
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        assert other.execute("PRAGMA journal_mode=DELETE").fetchone() == ("delete",)
        other.execute("BEGIN")
        other.execute("SELECT count(*) FROM audit_head").fetchall()  # a reader's lock
        assert _appended_while_held(chain, other) == [1, 2, 3]
        assert threaded(chain.audit)[:1] == ["_write_in_thread"]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def _appended_while_held(chain: Chain, other: sqlite3.Connection) -> list[int]:
    """Three records appended while `other` holds its lock, which it lets go after 0.2 s;
    `other` closed after."""

    async def append() -> list[int]:
        asyncio.get_running_loop().call_later(0.2, other.execute, "COMMIT")
        try:
            return [
                await chain.audit.append(entry(START + timedelta(minutes=n), n)) for n in range(3)
            ]
        finally:
            await chain.audit.close()

    try:
        return asyncio.run(append())
    finally:
        other.close()
