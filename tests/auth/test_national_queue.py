"""The national interface's queue (`auth.national`): a submitter's calls are claimed one at
a time in the order they were accepted, whichever process claims them; a call whose
runner died is claimed again once its lease lapses; other submitters are not held up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from auth.national import _CLAIM_STATEMENTS, DONE, NationalRegistry
from hub_support import make_stores

LEASE = timedelta(seconds=60)


@pytest.fixture(params=["sqlite", "postgres"])
def registry(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NationalRegistry]:
    stores = make_stores(request.param, tmp_path, "national_queue")
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    yield registry
    registry.close()


def _enqueue(registry: NationalRegistry, *calls: tuple[str, str]) -> None:
    async def run() -> None:
        try:
            for serial, appid in calls:
                await registry.enqueue(serial, appid, "Team.Add", f'{{"call": "{serial}"}}')
                await asyncio.sleep(0.002)  # distinct arrival times, as real calls have
        finally:
            await registry.database.dispose()

    asyncio.run(run())


def test_a_submitters_calls_run_one_at_a_time_in_order(registry: NationalRegistry) -> None:
    _enqueue(registry, ("a1", "A"), ("a2", "A"), ("b1", "B"), ("a3", "A"))
    first = registry.claim(LEASE)
    assert first is not None
    assert first.serial == "a1"
    other = registry.claim(LEASE)  # a second process: A is busy, B is not
    assert other is not None
    assert other.serial == "b1"
    assert registry.claim(LEASE) is None  # a2 waits for a1, though it is pending
    registry.finish("a1", DONE, {})
    following = registry.claim(LEASE)
    assert following is not None
    assert following.serial == "a2"


def test_calls_a_runner_has_run_count_as_finished_for_it(registry: NationalRegistry) -> None:
    """`run`: the calls whose answers this runner holds (still leased) do not hold up the
    submitter's next call for it; a claim returns the call as it was queued."""
    _enqueue(registry, ("a1", "A"), ("a2", "A"), ("a3", "A"))
    first = registry.claim(LEASE)
    assert first is not None
    assert (first.serial, first.appid, first.method, first.data, first.attempts) == (
        "a1", "A", "Team.Add", '{"call": "a1"}', 1,
    )  # fmt: skip
    assert registry.claim(LEASE) is None  # for another runner, a1 is running
    second = registry.claim(LEASE, ["a1"])
    assert second is not None
    assert (second.serial, second.data) == ("a2", '{"call": "a2"}')
    assert registry.call_state("a2") == "running"
    assert registry.claim(LEASE, ["a1"]) is None  # a2 is running, and not among those run
    third = registry.claim(LEASE, ["a1", "a2"])
    assert third is not None
    assert third.serial == "a3"
    assert registry.claim(LEASE, ["a1", "a2", "a3"]) is None


def test_the_claim_reads_the_queue_index_not_the_calls_on_sqlite(tmp_path: Path) -> None:
    """On SQLite the claim's columns come after each call's `data` (tens of KiB): every
    table read of its statements is of the covering index (migration 0005), or each claim
    would walk every waiting call's body."""
    stores = make_stores("sqlite", tmp_path, "national_queue_plan")
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    try:
        with registry._engine.get().connect() as connection:
            for run in (False, True):
                for statement in _CLAIM_STATEMENTS[run]:
                    compiled = statement.params(now="x", run=["a1", "a2"]).compile(
                        connection, compile_kwargs={"render_postcompile": True}
                    )
                    arguments = tuple("x" for _ in compiled.positiontup or ())
                    plan = [
                        row[-1]
                        for row in connection.exec_driver_sql(
                            f"EXPLAIN QUERY PLAN {compiled}", arguments
                        )
                    ]
                    reads = [step for step in plan if "auth_national_call " in f"{step} "]
                    assert reads, plan
                    assert all("COVERING INDEX ix_auth_national_call_queue" in r for r in reads), (
                        plan
                    )
    finally:
        registry.close()


def test_a_call_whose_runner_died_is_claimed_again_after_its_lease(
    registry: NationalRegistry,
) -> None:
    _enqueue(registry, ("a1", "A"), ("a2", "A"))
    dead = registry.claim(timedelta(seconds=0.5))
    assert dead is not None
    assert registry.claim(LEASE) is None
    time.sleep(0.6)
    again = registry.claim(LEASE)
    assert again is not None
    assert (again.serial, again.attempts) == ("a1", 2)


def test_a_call_claimed_between_a_claims_two_reads_is_not_claimed_again(
    registry: NationalRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The claim reads which submitters a live lease holds, then each one's oldest call: a
    call another process claims in between is read as running with its new attempts, and
    must not be claimed again while that process's lease lives (it would run twice, and
    the submitter's next call could overtake it)."""
    _enqueue(registry, ("a1", "A"))
    other = NationalRegistry(registry.database, None)  # another process's runner
    begin = registry._transaction
    claimed_meanwhile: list[Any] = []

    @contextlib.contextmanager
    def interleaved() -> Iterator[Any]:
        with begin() as connection:
            execute = connection.execute

            def after_the_first_read(*args: Any, **kwargs: Any) -> Any:
                result = execute(*args, **kwargs)
                if not claimed_meanwhile:  # the busy submitters read: now the other claims
                    result = result.freeze()
                    claimed_meanwhile.append(other.claim(LEASE))
                    return result()
                return result

            monkeypatch.setattr(connection, "execute", after_the_first_read)
            yield connection

    monkeypatch.setattr(registry, "_transaction", interleaved)
    try:
        second = registry.claim(LEASE)
    finally:
        other.close()
    assert [call.serial for call in claimed_meanwhile] == ["a1"]
    assert second is None, f"a1 claimed again while another runner's lease lives: {second}"


def test_old_answers_are_forgotten_and_recent_ones_kept(registry: NationalRegistry) -> None:
    _enqueue(registry, ("a1", "A"), ("b1", "B"))
    claimed = registry.claim(LEASE)
    assert claimed is not None
    registry.finish(claimed.serial, DONE, {"result": "ok"})
    assert registry.forget_answers(timedelta(days=1)) == 0
    time.sleep(0.05)
    assert registry.forget_answers(timedelta(seconds=0.01)) == 1
    assert registry.call_state("a1") is None
    assert registry.call_state("b1") == "pending"  # unfinished calls are never dropped


def test_a_nonce_is_refused_again_until_it_is_forgotten(registry: NationalRegistry) -> None:
    async def use() -> bool:
        try:
            return await registry.use_nonce("A", "n1", "20260901120000")
        finally:
            await registry.database.dispose()

    assert asyncio.run(use())
    assert not asyncio.run(use())  # a replay
    assert registry.forget_nonces(timedelta(days=1)) == 0  # recent: kept
    assert not asyncio.run(use())
    time.sleep(0.05)
    assert registry.forget_nonces(timedelta(seconds=0.01)) == 1
    assert asyncio.run(use())
