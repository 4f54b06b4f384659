"""kill -9 in the middle of an import leaves the agency's tables as they were, and running
the same import again completes it.

The import is a real `hub import` process. To stop it at the worst moment — its rows
upserted in the open transaction, the commit not yet made — the test holds the audit log's
write lock: the import writes its audit record just before committing, so it waits there.
The test sees it waiting (SQLite: the bank database's write lock is taken; PostgreSQL: a
backend waits on the audit head's row lock), kills it with SIGKILL, and looks.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS
from hub_support import Stores, account_row, make_stores, pay_row, write
from kernel.identifiers import make_id_number

ROWS = 3_000


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    made = make_stores(request.param, tmp_path / "stores", "ingest_kill")
    assert made.run(
        "bank", "accounts", write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    ).applied
    return made


def _environment(stores: Stores) -> dict[str, str]:
    settings = stores.settings
    env = {**os.environ, "HUB_DATA_DIR": str(settings.data_dir), "HUB_AUDIT_HASH_KEY": "k" * 32}
    for name, url in settings.db_urls.items():
        env[f"HUB_{name.upper()}_DB_URL"] = url
    return env


def _url(stores: Stores, name: str) -> str:
    return stores.settings.database_url(name)


@contextlib.contextmanager
def _audit_held(stores: Stores) -> Iterator[None]:
    """The audit log's write lock, held by this test."""
    url = make_url(_url(stores, "audit"))
    if stores.backend == "sqlite":
        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(False)) as held:
        held.execute("SELECT seq FROM audit_head FOR UPDATE")
        yield
        held.rollback()


def _waiting_to_commit(stores: Stores) -> bool:
    if stores.backend == "sqlite":
        bank = sqlite3.connect(make_url(_url(stores, "bank")).database or "", timeout=0)
        try:
            bank.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True  # the import's apply transaction holds it
        bank.execute("ROLLBACK")
        bank.close()
        return False
    url = make_url(_url(stores, "audit")).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(False)) as connection:
        found: Any = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock' AND query LIKE 'UPDATE audit_head%'"
        ).fetchone()
        return bool(found[0])


def _data(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, list[tuple[object, ...]]]:
    return {name: found for name, found in rows.items() if name != "bank_import_batch"}


def test_kill_9_before_the_commit_changes_nothing_and_a_rerun_completes(
    stores: Stores, tmp_path: Path
) -> None:
    born = datetime.date(1970, 1, 1)
    workers = [make_id_number("410183", born + datetime.timedelta(days=i), 11) for i in range(ROWS)]
    path = write(
        tmp_path / "payroll.csv", DISBURSEMENTS.spec, [pay_row(w) for w in workers], "gb18030"
    )
    command = [sys.executable, "-m", "hub.cli", "import", "bank", "disbursements", str(path)]
    before = stores.rows("bank")
    with _audit_held(stores):
        process = subprocess.Popen(
            command, env=_environment(stores), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while not _waiting_to_commit(stores):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never reached its commit"
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the wait for the audit lock (5 s on SQLite)
        assert process.poll() is None, "the import ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        assert process.returncode == -signal.SIGKILL
    assert stores.rows("bank") == before

    again = subprocess.run(command, env=_environment(stores), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"{ROWS} inserted" in again.stdout
    after = stores.rows("bank")
    assert len(after["bank_disbursement"]) == ROWS
    assert _data(after) != _data(before)
