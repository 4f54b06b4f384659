"""A store's kept engine is made once, however many threads first use it at once: two
made, one was never disposed, and its pooled connections were closed later by the
garbage collector, whose warning then failed whatever test was running."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.pool import NullPool

from alerts.store import AlertStore
from storage.database import Database, KeptEngine

THREADS = 8


def _slow_engines(database: Database, monkeypatch: pytest.MonkeyPatch) -> list[Engine]:
    """Every engine the database makes, each made slowly enough for threads to meet."""
    made: list[Engine] = []
    original = database.sync_engine

    def slow(*, kept: bool = False) -> Engine:
        time.sleep(0.05)
        engine = original(kept=kept)
        made.append(engine)
        return engine

    monkeypatch.setattr(database, "sync_engine", slow)
    return made


def _at_once(first_use: Callable[[], Any]) -> set[int]:
    barrier = threading.Barrier(THREADS)

    def use() -> int:
        barrier.wait()
        return id(first_use())

    with ThreadPoolExecutor(THREADS) as pool:
        return set(pool.map(lambda _: use(), range(THREADS)))


def test_threads_first_using_a_kept_engine_at_once_share_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'kept.db'}")
    made = _slow_engines(database, monkeypatch)
    kept = KeptEngine(database)
    assert len(_at_once(kept.get)) == 1
    assert len(made) == 1
    kept.dispose()
    assert kept.get() is not made[0]  # disposed: the next use makes a fresh one
    kept.dispose()


def test_the_alert_store_makes_one_engine_for_threads_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(f"sqlite:///{tmp_path / 'alerts.db'}")
    made = _slow_engines(database, monkeypatch)
    store = AlertStore(database)
    try:
        assert len(_at_once(lambda: store.engine)) == 1
        assert len(made) == 1
    finally:
        store.close()


def test_the_one_off_engine_is_made_once_and_keeps_no_connection(tmp_path: Path) -> None:
    """Imports' staging and reference checks and the national runner's look-ups share one
    engine per database, made once for threads at once; each connection closes when its
    use ends (no temporary table or ATTACH reaches the next use)."""
    database = Database(f"sqlite:///{tmp_path / 'one-off.db'}")
    assert len(_at_once(database.one_off_engine)) == 1
    engine = database.one_off_engine()
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TEMPORARY TABLE staged (k TEXT)")
    with engine.connect() as connection:  # a fresh connection: the temporary table is gone
        assert not connection.exec_driver_sql("SELECT name FROM sqlite_temp_master").all()
    assert isinstance(engine.pool, NullPool)
    asyncio.run(database.dispose())
    assert database.one_off_engine() is not engine  # disposed: the next use makes another
    asyncio.run(database.dispose())
