"""The one-off engines on PostgreSQL (`storage.pooling`): a process keeps the connection
last given back for the next use, without what the use left in it."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Connection

from conftest import POSTGRES_URL, REQUIRE_POSTGRES
from storage import pooling
from storage.database import Database


@pytest.fixture
def url() -> Iterator[str]:
    if not POSTGRES_URL:
        if REQUIRE_POSTGRES:
            pytest.fail("HUB_TEST_REQUIRE_POSTGRES=1 but HUB_TEST_POSTGRES_URL is not set")
        pytest.skip("needs HUB_TEST_POSTGRES_URL")
    yield POSTGRES_URL
    pooling.release()


def _pid(connection: Connection) -> int:
    return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


def _admin(url: str) -> psycopg.Connection:
    return psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def _gone(url: str, pid: int) -> bool:
    """Whether the backend has ended (it leaves pg_stat_activity once it has exited)."""
    with _admin(url) as admin:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
            if row is None:
                return True
            time.sleep(0.02)
    return False


def test_the_next_use_gets_the_kept_connection_without_the_last_ones_tables(url: str) -> None:
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            first = _pid(connection)
            connection.exec_driver_sql("CREATE TEMPORARY TABLE ingest_stage (k text)")
            connection.exec_driver_sql("INSERT INTO ingest_stage VALUES ('110101199003077777')")
            connection.commit()
            connection.exec_driver_sql("CREATE TEMPORARY TABLE left_open (k text)")
        with engine.connect() as connection:
            assert _pid(connection) == first  # the same backend, not a new one
            found = connection.exec_driver_sql(
                "SELECT to_regclass('pg_temp.ingest_stage'), to_regclass('pg_temp.left_open')"
            ).one()
            assert tuple(found) == (None, None)
            driver = connection.connection.driver_connection
            assert isinstance(driver, psycopg.Connection)
            assert driver.prepare_threshold is None  # next time ingest_stage is another table
    finally:
        asyncio.run(database.dispose())
    assert _gone(url, first)  # disposed: the kept connection closed


def test_a_process_keeps_one_connection_whichever_database_it_is_to(url: str) -> None:
    housing, bank = Database(url), Database(url)
    try:
        with housing.one_off_engine().connect() as one, housing.one_off_engine().connect() as two:
            kept, closed = _pid(one), _pid(two)  # `two` goes back first, then `one`
        assert _gone(url, closed)
        with bank.one_off_engine().connect() as connection:
            other = _pid(connection)  # not housing's kept connection
        assert other != kept
        assert _gone(url, kept)  # bank's took its place
        with housing.one_off_engine().connect() as connection:
            assert _pid(connection) not in (kept, other)
    finally:
        asyncio.run(housing.dispose())
        asyncio.run(bank.dispose())


def test_a_kept_connection_the_server_ended_is_replaced(url: str) -> None:
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            ended = _pid(connection)
        with _admin(url) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [ended])
        assert _gone(url, ended)
        with engine.connect() as connection:  # the server said so as it ended it: a new one
            assert _pid(connection) != ended
    finally:
        asyncio.run(database.dispose())


def test_a_forked_process_leaves_its_parents_kept_connection_alone(url: str) -> None:
    database = Database(url)
    engine = database.one_off_engine()
    try:
        with engine.connect() as connection:
            kept = _pid(connection)
        child = os.fork()
        if child == 0:  # pragma: no cover - the child's verdict is its exit status
            with engine.connect() as connection:
                os._exit(0 if _pid(connection) != kept else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        with engine.connect() as connection:
            assert _pid(connection) == kept  # still open, still the parent's
    finally:
        asyncio.run(database.dispose())
