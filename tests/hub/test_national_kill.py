"""A national-interface call accepted before `kill -9` is run after the restart: the hub is
a real `hub serve` process; the call is queued as `/open.api` queues an accepted one (whose
answer needs an audit record of its own, so it cannot be posted while the lock is held);
the test holds the audit log's write lock so the queued call's import waits just before
its commit (as `tests/ingest/test_kill.py` does), kills the
server there, and starts it again. Nothing was written by the killed run; the restarted
hub claims the call once the dead run's lease lapses and completes it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from national_client import Uploader, encrypted

import hub_processes
from auth.national import RUNNING, NationalRegistry
from connectors.bank.tables import ACCOUNTS
from hub_support import (
    ACCOUNT,
    CARD,
    PROJECT,
    WORKERS,
    Stores,
    account_row,
    audit_held,
    hub_environment,
    make_stores,
    waiting_to_commit,
    write,
)


@pytest.fixture(params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Stores:
    made = make_stores(request.param, tmp_path / "stores", "national_kill")
    assert made.run(
        "bank", "accounts", write(tmp_path / "a.csv", ACCOUNTS.spec, [account_row()])
    ).applied
    return made


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(stores: Stores, port: int) -> Iterator[hub_processes.Process]:
    env = {
        **hub_environment(stores),
        "HUB_NATIONAL_LEASE_SECONDS": "2",
        "HUB_NATIONAL_POLL_SECONDS": "0.05",
    }
    process = hub_processes.popen(
        [*hub_processes.MODULE, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()[1].decode()[-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "hub serve did not start"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            process.communicate(timeout=30)


PAYROLL = {
    "projectCode": PROJECT, "payMonth": "2026-09",
    "detailList": [
        {"idCardType": "01", "idCardNumber": worker, "payRollBankCardNumber": CARD,
         "payBankCardNumber": ACCOUNT, "totalPayAmount": "8000.00", "actualAmount": "7000.00",
         "balanceDate": "2026-10-10", "days": 22}
        for worker in WORKERS
    ],
}  # fmt: skip


async def _enqueue(registry: NationalRegistry, serial: str, appid: str, data: str) -> None:
    try:
        await registry.enqueue(serial, appid, "Payroll.Add", data)
    finally:  # its connections belong to this event loop
        await registry.database.engine.dispose()


def test_a_call_accepted_before_kill_9_is_done_after_the_restart(stores: Stores) -> None:
    registry = NationalRegistry(stores.auth.database, stores.auth.sealer)
    appid, secret = registry.add_submitter("bank", "kill test")
    port = _port()
    before = stores.rows("bank")
    serial = uuid.uuid4().hex
    data = json.dumps(encrypted(PAYROLL, secret), ensure_ascii=False)
    asyncio.run(_enqueue(registry, serial, appid, data))
    with audit_held(stores), _served(stores, port) as server:
        deadline = time.monotonic() + 60
        while not waiting_to_commit(stores):
            assert time.monotonic() < deadline, "the call's import never reached its commit"
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(server.pid, signal.SIGKILL)
        server.communicate()
    assert stores.rows("bank")["bank_disbursement"] == before["bank_disbursement"]
    assert registry.call_state(serial) == RUNNING  # leased by the dead process

    with _served(stores, port):
        uploader = Uploader(f"http://127.0.0.1:{port}", appid, secret)
        result = uploader.result(serial, timeout=60)
        uploader.http.close()
    registry.close()
    assert result["status"] == "20", result
    assert len(stores.rows("bank")["bank_disbursement"]) == len(WORKERS)
