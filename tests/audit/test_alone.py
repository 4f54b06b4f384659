"""A request's record that nothing could join (no other request under way, the writer
idle) is written by the request itself (`AuditStore.append(..., request=True)`), and the
writer's quiet timer starts again from that write; otherwise, and for every other
caller's records, the writer writes them, grouped. Either way the chain verifies and a
record not written is refused."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from audit_support import Chain, entry, fresh_chain

from audit.store import AuditStore, AuditUnavailable

START = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    with fresh_chain(request.param, tmp_path, "hub_alone") as built:
        yield built


@pytest.fixture
def writers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[bool, int]]:
    """For each write of records: whether the store's writer task wrote it, how many."""
    found: list[tuple[bool, int]] = []
    write = AuditStore._write

    async def noted(self: AuditStore, batch: list[Any], **options: Any) -> int:
        if batch:
            found.append((asyncio.current_task() is self._writer, len(batch)))
        return await write(self, batch, **options)

    monkeypatch.setattr(AuditStore, "_write", noted)
    return found


async def _idle(store: AuditStore) -> None:
    """The writer started, its key checked, waiting."""
    await store.append(entry(START, 0))
    for _ in range(100):
        if store._waiting is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the writer never waited")


def test_a_request_alone_writes_its_own_record(
    chain: Chain, writers: list[tuple[bool, int]]
) -> None:
    store = chain.audit

    async def run() -> tuple[list[int], float, float]:
        try:
            await _idle(store)
            assert store._waiting is not None
            before = store._waiting.when() or 0.0
            await asyncio.sleep(0.05)
            seqs = [
                await store.append(entry(START + timedelta(minutes=n), n), request=True)
                for n in range(1, 4)
            ]
            assert store._waiting is not None
            return seqs, before, store._waiting.when() or 0.0
        finally:
            await store.close()

    seqs, before, after = asyncio.run(run())
    assert seqs == [2, 3, 4]
    assert writers == [(True, 1), (False, 1), (False, 1), (False, 1)]
    assert after > before  # quiet counts from the last write, the request's
    report = chain.verify(offline=True)
    assert report.ok, report.summary()


def test_records_others_may_join_go_to_the_writer(
    chain: Chain, writers: list[tuple[bool, int]]
) -> None:
    """Another request under way: its record may come, so the group waits for it (here
    it comes at once); a burst of other callers' records is one group."""
    store = chain.audit

    async def run() -> list[int]:
        try:
            await _idle(store)
            store.underway += 1
            first = asyncio.ensure_future(store.append(entry(START, 1), request=True))
            await asyncio.sleep(0)
            store.underway -= 1
            second = await store.append(entry(START, 2), request=True)
            burst = await asyncio.gather(*(store.append(entry(START, n)) for n in range(3, 7)))
            return [await first, second, *burst]
        finally:
            await store.close()

    assert asyncio.run(run()) == [2, 3, 4, 5, 6, 7]
    assert writers[1:] == [(True, 2), (True, 4)]
    report = chain.verify(offline=True)
    assert report.ok, report.summary()


def test_a_record_its_request_could_not_write_is_refused(
    chain: Chain, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = chain.audit

    def broken(*_: Any) -> Any:
        raise OSError("disk full")

    async def run() -> BaseException | int:
        try:
            await _idle(store)
            monkeypatch.setattr(AuditStore, "_write_batch", broken)
            monkeypatch.setattr(store, "_appender", None)  # PostgreSQL: the locking path
            try:
                return await store.append(entry(START, 1), request=True)
            except Exception as error:
                return error
        finally:
            monkeypatch.undo()
            await store.close()

    refused = asyncio.run(run())
    assert isinstance(refused, AuditUnavailable), refused
    report = chain.verify(offline=True)
    assert report.ok, report.summary()
