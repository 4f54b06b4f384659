"""The audit log's guarantees end to end: nothing is answered without a record (fail
closed); archives verify on their own and the live chain stays verifiable across the
cut; several hub processes write one gap-free chain to one PostgreSQL database; a hub
killed mid-load leaves a chain that verifies and a record for every answered request."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from audit_support import Chain, fresh_chain
from sqlalchemy import select, text

from audit.operations import AuditLog, verify_archive
from audit.settings import AuditSettings
from audit.store import record_t
from auth.store import Grant
from conftest import TEST_PURPOSE, ClientCredentials, _free_port, backend_settings, serving
from hub.app import create_app
from hub.cli import main as hub_main
from hub.settings import HubSettings
from hub.wiring import build_audit_store, build_auth_store, build_connectors, migration_targets
from kernel.scopes import vocabulary
from storage import migrate

HUB = Path(sys.executable).parent / "hub"


def test_no_record_no_answer(tmp_path: Path) -> None:
    app = create_app(HubSettings(data_dir=tmp_path))
    auth = app.state.auth_store
    migrate.upgrade(migration_targets(app.state.connectors, auth, app.state.audit_store))
    secret = auth.add_client("asker", Grant("test", vocabulary(), (TEST_PURPOSE,)))
    with (
        serving(app) as url,
        httpx.Client(
            base_url=url,
            auth=ClientCredentials("asker", secret),
            headers={"X-Purpose": TEST_PURPOSE},
        ) as client,
    ):
        assert client.post("/graphql", json={"query": "{ __typename }"}).status_code == 200
        with sqlite3.connect(tmp_path / "audit.db") as audit:
            audit.execute("DROP TABLE audit_record")
        response = client.post("/graphql", json={"query": "{ __typename }"})
        assert response.status_code == 503
        assert response.json()["error"] == "audit_unavailable"
        assert "data" not in response.json()
        assert response.headers["x-request-id"]


@pytest.fixture(params=["sqlite", "postgres"])
def chain(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Chain]:
    with fresh_chain(request.param, tmp_path, "hub_archive") as built:
        built.append(20)  # 2026-11-01 00:00 … 00:19, one a minute
        yield built


def test_an_archive_verifies_on_its_own_and_the_live_chain_across_the_cut(
    chain: Chain, tmp_path: Path
) -> None:
    archive = tmp_path / "2026-11-01.jsonl"
    written = chain.log().archive(
        datetime(2026, 11, 1, 0, 10, tzinfo=UTC), archive, chain.auth.newest_signing_key()
    )
    assert (written.first_seq, written.last_seq) == (1, 10)
    assert verify_archive(archive, None).ok
    assert verify_archive(archive, chain.auth.verification_keys()).ok

    live = chain.log().verify()
    assert live.ok, live.summary()
    assert (live.first_seq, live.last_seq) == (11, 20)
    chain.append(5, start=datetime(2026, 11, 2, tzinfo=UTC))
    assert chain.log().verify().ok

    lines = archive.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[4])
    record["payload"] = record["payload"].replace("residence-management", "curiosity")
    lines[4] = json.dumps(record, ensure_ascii=False)
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tampered = verify_archive(archive, None)
    assert tampered.problem is not None
    assert (tampered.problem.kind, tampered.problem.seq) == ("edited", 4)


def test_the_cut_needs_its_signed_checkpoint(chain: Chain, tmp_path: Path) -> None:
    chain.log().archive(
        datetime(2026, 11, 1, 0, 10, tzinfo=UTC),
        tmp_path / "a.jsonl",
        chain.auth.newest_signing_key(),
    )
    engine = chain.engine()
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_checkpoint WHERE seq = 10"))
    finally:
        engine.dispose()
    report = chain.log().verify()
    assert report.problem is not None
    assert report.problem.kind == "checkpoint"


def test_a_slow_trickle_is_checkpointed_by_time(tmp_path: Path) -> None:
    """Far from `every` records, a checkpoint is still signed once the last is `seconds`
    old (here: at once, so every record)."""
    with fresh_chain("sqlite", tmp_path, "unused", every=1_000) as built:
        built.audit.policy = AuditSettings(checkpoint_every=1_000, checkpoint_seconds=1e-9)
        built.append(3)
        report = built.log().verify()
    assert report.ok, report.summary()
    assert report.checkpoints == 3


def test_the_command_line_verifies_exports_and_exits_non_zero_when_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    with fresh_chain("sqlite", tmp_path, "unused") as built:
        built.append(12)
    assert hub_main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: 12 records (1–12), 2 checkpoints")
    assert hub_main(["audit", "checkpoint"]) == 0
    assert hub_main(["audit", "checkpoint"]) == 0
    assert capsys.readouterr().out == "signed checkpoint 12\nnothing new to sign\n"
    assert hub_main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("OK: 12 records (1–12), 3 checkpoints")
    assert (
        hub_main(
            ["audit", "export", "--from", "2026-11-01T00:05", "--out", str(tmp_path / "x.jsonl")]
        )
        == 0
    )
    assert len((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()) == 7
    with sqlite3.connect(tmp_path / "audit.db") as audit:
        audit.execute("UPDATE audit_record SET purpose = 'x' WHERE seq = 9")
    assert hub_main(["audit", "verify"]) == 2
    assert "record 9" in capsys.readouterr().out


@contextmanager
def _hub_process(environment: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        [str(HUB), "serve", "--port", str(port)],
        env={**environment, "HUB_PORT": str(port), "HUB_ISSUER": "http://hub.test"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=30)


def test_several_processes_write_one_chain_and_a_crash_loses_no_answered_record(
    tmp_path: Path,
) -> None:
    """Two hub processes on one PostgreSQL audit database, eight clients on each; one
    process is killed with SIGKILL mid-load."""
    settings = backend_settings("postgres", tmp_path, "hub_audit_procs")
    auth = build_auth_store(settings)
    audit = build_audit_store(settings, auth)
    migrate.upgrade(migration_targets(build_connectors(settings), auth, audit))
    auth.ensure_signing_key()
    secret = auth.add_client("loader", Grant("test", vocabulary(), (TEST_PURPOSE,)))
    environment = {
        **os.environ,
        "HUB_DATA_DIR": str(tmp_path),
        **{f"HUB_{name.upper()}_DB_URL": url for name, url in settings.db_urls.items()},
        "HUB_RATE_LIMITS": json.dumps({"default": "10000/s burst 10000"}),
    }
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(port: int) -> None:
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            auth=ClientCredentials("loader", secret),
            headers={"X-Purpose": TEST_PURPOSE},
            timeout=10,
        ) as client:
            while not stop.is_set():
                try:
                    response = client.post("/graphql", json={"query": "{ __typename }"})
                except httpx.TransportError:
                    return  # the process was killed
                if response.status_code == 200:
                    with lock:
                        answered.append(response.headers["x-request-id"])

    first, second = _free_port(), _free_port()
    with _hub_process(environment, first) as doomed, _hub_process(environment, second):
        threads = [threading.Thread(target=load, args=(port,)) for port in (first, second) * 8]
        for thread in threads:
            thread.start()
        time.sleep(3)
        doomed.send_signal(signal.SIGKILL)
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    report = AuditLog(audit.database, auth.verification_keys()).verify()
    assert report.ok, report.summary()
    engine = audit.database.sync_engine()
    try:
        with engine.connect() as connection:
            recorded = set(connection.execute(select(record_t.c.request_id)).scalars())
    finally:
        engine.dispose()
    assert len(answered) > 100
    assert set(answered) <= recorded
