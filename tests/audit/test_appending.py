"""PostgreSQL's one-statement append (`audit.appending`): it writes, byte for byte, the
rows the locking path writes, and only from the head this process left; a head another
process moved since is read again and the batch placed after it, on the event loop (and
for a while the head is read before every write, where processes take turns), nothing
written twice or lost."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import Chain, entry, fresh_chain
from sqlalchemy import text

from audit import store as store_module
from audit.appending import Appended, Head, PostgresAppender
from audit.store import AuditStore
from hub.wiring import build_audit_store

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each one-statement write reported: True written, False the head had moved."""
    reported: list[bool] = []
    write = PostgresAppender.write

    async def counted(self: PostgresAppender, was: Head, appended: Appended) -> bool:
        reported.append(await write(self, was, appended))
        return reported[-1]

    monkeypatch.setattr(PostgresAppender, "write", counted)
    return reported


@pytest.fixture
def chains(tmp_path: Path) -> Iterator[tuple[Chain, Chain]]:
    with (
        fresh_chain("postgres", tmp_path / "a", "hub_append_one") as one,
        fresh_chain("postgres", tmp_path / "b", "hub_append_locked") as locked,
    ):
        yield one, locked


async def _append(store: AuditStore, numbers: range) -> list[int]:
    """Appended together, so the writer takes them in batches of several."""
    return await asyncio.gather(
        *(store.append(entry(START + timedelta(minutes=n), n)) for n in numbers)
    )


def _rows(chain: Chain) -> dict[str, list[Any]]:
    return chain.rows(
        {
            "records": "SELECT * FROM audit_record ORDER BY seq",
            "entities": "SELECT * FROM audit_entity ORDER BY seq, kind, key",
            "head": "SELECT seq, frontier FROM audit_head",
        }
    )


def test_one_statement_writes_what_the_locking_path_writes(
    chains: tuple[Chain, Chain], written: list[bool]
) -> None:
    one, locked = chains
    locked.audit._appender = None  # every batch claims the head under its lock

    async def fill(store: AuditStore) -> None:
        try:
            for start in range(0, 24, 6):
                await _append(store, range(start, start + 6))
        finally:
            await store.close()

    asyncio.run(fill(one.audit))
    asyncio.run(fill(locked.audit))
    assert len(written) == 4  # every batch in one statement
    assert all(written)
    assert _rows(one) == _rows(locked)
    assert len(_rows(one)["records"]) == 24
    for chain in chains:
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def test_a_head_moved_by_another_process_is_read_again(tmp_path: Path, written: list[bool]) -> None:
    with fresh_chain("postgres", tmp_path, "hub_append_moved") as chain:
        other = build_audit_store(chain.settings)  # another hub process's store

        threaded: list[bool] = []

        async def interleave() -> list[int]:
            try:
                seqs = [await chain.audit.append(entry(START, n)) for n in range(3)]
                seqs += [await other.append(entry(START, n)) for n in range(3, 5)]
                seqs += [await chain.audit.append(entry(START, n)) for n in range(5, 8)]
                threaded.extend(s._writer_sql is not None for s in (chain.audit, other))
                return seqs
            finally:
                await chain.audit.close()
                await other.close()

        assert asyncio.run(interleave()) == list(range(1, 9))
        assert written.count(False) == 1  # the first store's head was stale: nothing written
        # each store's first batch and the stale one's after the head read on the event
        # loop: never through the locking path's worker thread
        assert threaded == [False, False]
        records = _rows(chain)["records"]
        assert [row[0] for row in records] == list(range(1, 9))
        assert [row[2] for row in records] == [f"{n:032x}" for n in range(8)]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def test_a_store_outlives_its_event_loop(tmp_path: Path, written: list[bool]) -> None:
    """A test's or a command's `asyncio.run` ends with the appender's connection open:
    the next loop's first batch must not fail on it (a request refused though the log is
    fine), nor must `close()`."""
    with fresh_chain("postgres", tmp_path, "hub_append_loops") as chain:
        store = chain.audit

        async def two(numbers: range) -> list[int]:
            return [await store.append(entry(START, n)) for n in numbers]

        assert asyncio.run(two(range(2))) == [1, 2]
        assert asyncio.run(two(range(2, 4))) == [3, 4]
        asyncio.run(store.close())
        assert written == [True, True, True, True]  # the first after reading the head
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def test_a_write_waiting_on_another_process_s_lock_finds_the_head_moved(
    tmp_path: Path, written: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the one statement must lose: another process's locking path holds the
    head row (claimed, not committed) when this one's statement arrives; it waits, and
    PostgreSQL checks its WHERE again on the row as committed (READ COMMITTED): the head
    moved, so nothing of it is written, and the batch is placed again after the head as
    it now is."""
    claimed, go = threading.Event(), threading.Event()
    many = store_module._Transaction.many

    def paused(self: Any, statement: Any, rows: list[dict[str, Any]]) -> None:
        moving = statement in (store_module._MOVE_HEAD, store_module._MOVE_HEAD_SIGNED)
        if moving and not claimed.is_set():
            claimed.set()  # the head row is locked by this open transaction
            assert go.wait(60)
        many(self, statement, rows)

    with fresh_chain("postgres", tmp_path, "hub_append_race") as chain:
        other = build_audit_store(chain.settings)
        other._appender = None  # another process, mid-way through the locking path
        assert asyncio.run(_append_one(chain.audit, range(2), close=False)) == [1, 2]
        monkeypatch.setattr(store_module._Transaction, "many", paused)
        theirs: list[int] = []
        thread = threading.Thread(
            target=lambda: theirs.extend(asyncio.run(_append_one(other, range(2, 3))))
        )
        thread.start()
        assert claimed.wait(60)
        waiting = threading.Thread(target=_release_once_waiting, args=(chain, go))
        waiting.start()
        ours = asyncio.run(_append_one(chain.audit, range(3, 4)))
        waiting.join(timeout=60)
        thread.join(timeout=60)
        assert (theirs, ours) == ([3], [4])
        # the third waited, then found the head moved: placed again after it, and written
        # (or once more: the other store's close may sign a checkpoint, moving the head
        # again, between the read and the write)
        assert written[:3] == [True, True, False]
        assert written[-1]
        assert written[3:-1] in ([], [False])
        records = _rows(chain)["records"]
        assert [row[0] for row in records] == [1, 2, 3, 4]
        assert [row[2] for row in records] == [f"{n:032x}" for n in range(4)]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


async def _append_one(store: AuditStore, numbers: range, *, close: bool = True) -> list[int]:
    """One after another."""
    try:
        return [await store.append(entry(START, n)) for n in numbers]
    finally:
        if close:
            await store.close()


def _release_once_waiting(chain: Chain, go: threading.Event) -> None:
    """Lets the paused transaction commit once another statement waits for its lock."""
    engine = chain.engine()
    try:
        deadline = time.monotonic() + 60
        with engine.connect() as connection:
            while time.monotonic() < deadline:
                waits = connection.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity"
                        " WHERE wait_event_type = 'Lock' AND query LIKE 'WITH moved AS%'"
                    )
                ).scalar()
                connection.commit()
                if waits:
                    break
                time.sleep(0.02)
    finally:
        engine.dispose()
        go.set()


def test_a_write_held_past_its_deadline_is_refused_and_the_log_goes_on(
    tmp_path: Path, written: list[bool]
) -> None:
    """A connection that stops answering (here: the head row held by a stuck transaction)
    holds a group's requests no longer than `write_timeout_seconds`: they are refused
    (AuditUnavailable, a 503), not kept waiting; the log goes on once the row is free,
    with no gap, fork or record twice."""
    with fresh_chain("postgres", tmp_path, "hub_append_deadline") as chain:
        store = chain.audit
        assert store._appender is not None
        store._appender._timeout = 0.5
        engine = chain.engine()
        try:

            async def run() -> tuple[BaseException | int, list[int]]:
                first = [await store.append(entry(START, n)) for n in range(2)]
                with engine.connect() as holder:
                    holder.execute(text("SELECT seq FROM audit_head FOR UPDATE"))
                    try:  # the old code waited as long as the lock was held
                        held: BaseException | int = await asyncio.wait_for(
                            store.append(entry(START, 2)), timeout=10
                        )
                    except Exception as error:
                        held = error
                    holder.rollback()
                after = [await store.append(entry(START, n)) for n in range(3, 5)]
                await store.close()
                return held, first + after

            held, seqs = asyncio.run(run())
        finally:
            engine.dispose()
        assert isinstance(held, store_module.AuditUnavailable), repr(held)
        # Whether the refused group's statement ran once the row was free is not known to
        # the store (it is refused either way: over-recorded at worst, never lost); the
        # next groups are written after the head as read again, wherever it is.
        records = _rows(chain)["records"]
        ids = [row[2] for row in records]
        kept = [n for n in range(5) if f"{n:032x}" in ids]
        assert kept in ([0, 1, 3, 4], [0, 1, 2, 3, 4])
        assert ids == [f"{n:032x}" for n in kept]
        assert seqs == [1, 2, len(kept) - 1, len(kept)]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()


def test_a_batch_that_keeps_losing_the_race_is_written_under_the_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each one-statement try after a fresh read of the head can lose to another process
    again; after `HEAD_TRIES` of them the locking path writes the batch, once."""
    tries: list[int] = []

    async def always_moved(self: PostgresAppender, was: Head, appended: Appended) -> bool:
        tries.append(was.seq)
        return False  # as if another process had always just moved the head

    with fresh_chain("postgres", tmp_path, "hub_append_losing") as chain:
        monkeypatch.setattr(PostgresAppender, "write", always_moved)
        assert asyncio.run(_append_one(chain.audit, range(2))) == [1, 2]
        assert len(tries) == 2 * store_module.HEAD_TRIES
        records = _rows(chain)["records"]
        assert [row[2] for row in records] == [f"{n:032x}" for n in range(2)]
        report = chain.verify(offline=True)
        assert report.ok, report.summary()
