"""Group commit's wait (`AuditStore._gather`): while other requests are under way and the
event loop is busy with them, a group waits for their records and commits them together;
while the loop has nothing else to run, the group goes at once. Either way each request
hears of its record only once it is committed, and the log verifies."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from audit_support import Chain, entry, fresh_chain

from audit.store import AuditStore

START = datetime(2026, 11, 1, tzinfo=UTC)
WAIT = 10.0
"""Long, so that a test on a loaded machine still tells waiting from not: a group that
waits ends when every record under way is in, not after this."""


@pytest.fixture(params=["sqlite", "postgres"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    with fresh_chain(request.param, tmp_path, "hub_grouping") as built:
        policy = built.audit.policy.model_copy(update={"group_wait_seconds": WAIT})
        built.audit.policy = policy
        yield built


@pytest.fixture
def groups(chain: Chain, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each group the chain's writer wrote (signing alone not counted; another
    store's writes not either: the test process's other hubs, serving in their threads,
    may write theirs meanwhile)."""
    sizes: list[int] = []
    write = AuditStore._write

    async def counted(self: AuditStore, batch: list[Any], **options: Any) -> int:
        if batch and self is chain.audit:
            sizes.append(len(batch))
        return await write(self, batch, **options)

    monkeypatch.setattr(AuditStore, "_write", counted)
    return sizes


def _busy(seconds: float) -> None:
    """CPU work of a request between two awaits."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        pass


async def _request(store: AuditStore, number: int, turns: int, committed: list[int]) -> None:
    """A request as the middleware runs one: under way, some turns of CPU work, its record."""
    store.underway += 1
    try:
        for _ in range(turns):
            _busy(0.002)
            await asyncio.sleep(0)
    finally:
        store.underway -= 1
    await store.append(entry(START, number))
    committed.append(number)


def test_a_busy_loop_commits_the_records_of_requests_under_way_together(
    chain: Chain, groups: list[int]
) -> None:
    committed: list[int] = []

    async def run() -> float:
        store = chain.audit
        await store.append(entry(START, 0))  # the head known, the writer running
        try:  # the first finishes while three more are still working: they join its group
            started = time.perf_counter()
            await asyncio.gather(
                *(_request(store, n, turns, committed) for n, turns in enumerate((1, 3, 4, 5), 1))
            )
            return time.perf_counter() - started
        finally:
            await store.close()

    assert asyncio.run(run()) < WAIT / 2  # the group went once the last record was in
    assert groups == [1, 4]
    assert sorted(committed) == [1, 2, 3, 4]
    report = chain.verify(offline=True)
    assert report.ok, report.summary()


def test_an_idle_loop_commits_at_once(chain: Chain, groups: list[int]) -> None:
    """The other request waits for something (a database, a client), not for the CPU: the
    record does not wait for it. The other waits until this record is committed, so one
    that waited for the other would wait out the group's whole WAIT, past the deadline
    here (half of it, as the module's other tests: a loaded machine took over a second
    to commit at once, when the other's wait was a second's sleep)."""
    committed: list[int] = []

    async def run() -> int:
        store = chain.audit
        await store.append(entry(START, 0))
        released = asyncio.Event()

        async def waiting() -> None:
            store.underway += 1
            try:
                await released.wait()
            finally:
                store.underway -= 1
            await store.append(entry(START, 2))
            committed.append(2)

        try:
            other = asyncio.create_task(waiting())
            await asyncio.sleep(0)  # under way
            await asyncio.wait_for(_request(store, 1, 0, committed), WAIT / 2)
            still_underway = store.underway
            released.set()
            await other
            return still_underway
        finally:
            await store.close()

    assert asyncio.run(run()) == 1  # committed while the other was still under way
    assert groups == [1, 1, 1]
    assert committed == [1, 2]
    report = chain.verify(offline=True)
    assert report.ok, report.summary()


def test_no_wait_when_nothing_else_is_under_way(chain: Chain, groups: list[int]) -> None:
    async def run() -> float:
        store = chain.audit
        await store.append(entry(START, 0))
        try:
            started = time.perf_counter()
            await _request(store, 1, 2, [])
            return time.perf_counter() - started
        finally:
            await store.close()

    assert asyncio.run(run()) < WAIT / 2
    assert groups == [1, 1]
