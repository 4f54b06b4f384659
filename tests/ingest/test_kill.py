"""kill -9 in the middle of an import leaves the agency's tables as they were, and running
the same import again completes it.

The import is a real `hub import` process. To stop it at the worst moment — its rows
upserted in the open transaction, the commit not yet made — the test holds the audit log's
write lock: the import writes its audit record just before committing, so it waits there.
The test sees it waiting (SQLite: the bank database's write lock is taken; PostgreSQL: a
backend waits on the audit head's row lock), kills it with SIGKILL, and looks.
"""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import hub_processes
from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS
from hub_support import (
    Stores,
    account_row,
    audit_held,
    hub_environment,
    make_stores,
    pay_row,
    waiting_to_commit,
    write,
)
from kernel.identifiers import make_id_number

ROWS = 3_000


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    made = make_stores(request.param, tmp_path / "stores", "ingest_kill")
    assert made.run(
        "bank", "accounts", write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    ).applied
    return made


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
    command = [*hub_processes.MODULE, "import", "bank", "disbursements", str(path)]
    before = stores.rows("bank")
    with audit_held(stores):
        process = hub_processes.popen(
            command, env=hub_environment(stores), stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 60
        while not waiting_to_commit(stores):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the import never reached its commit"
            time.sleep(0.05)
        time.sleep(0.3)  # well inside the wait for the audit lock (5 s on SQLite)
        assert process.poll() is None, "the import ended before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
        process.communicate()
        assert process.returncode == -signal.SIGKILL
    assert stores.rows("bank") == before

    again = hub_processes.run(command, env=hub_environment(stores))
    assert again.returncode == 0, again.stderr
    assert f"{ROWS} inserted" in again.stdout
    after = stores.rows("bank")
    assert len(after["bank_disbursement"]) == ROWS
    assert _data(after) != _data(before)
