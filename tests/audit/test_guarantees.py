"""The audit log's guarantees end to end: nothing is answered without a record (fail
closed); archives verify on their own and the live log stays verifiable across the
cut; several hub processes write one gap-free log to one PostgreSQL database; a hub
killed mid-load leaves a log that verifies and a record for every answered request."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from audit_support import ORIGIN, Chain, fresh_chain
from sqlalchemy import select, text

import hub_processes
from audit.operations import ArchiveRefused, AuditLog, verify_archive
from audit.store import record_t
from auth.store import Grant
from conftest import (
    TEST_PURPOSE,
    ClientCredentials,
    _free_port,
    migrated_settings,
    serving,
)
from hub.app import create_app
from hub.cli import main as hub_main
from hub.wiring import audit_trust, build_audit_store, build_auth_store
from kernel.scopes import vocabulary


def test_no_record_no_answer(tmp_path: Path) -> None:
    # SQLite databases migrated as `hub migrate` leaves them: copies of the ones this test
    # process migrated once (migrating them again here was 0.4 CPU s)
    app = create_app(migrated_settings("sqlite", tmp_path, "no_record"))
    auth = app.state.auth_store
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
    """20 records (2026-11-01 00:00 … 00:19, one a minute), each checkpoint (every 5)
    cosigned by a witness over HTTP."""
    with fresh_chain(request.param, tmp_path, "hub_archive", witnesses=1) as built:
        built.append(20, cosign_every=5)
        yield built


def test_an_archive_verifies_on_its_own_and_the_live_log_across_the_cut(
    chain: Chain, tmp_path: Path
) -> None:
    archive = tmp_path / "2026-11-01.jsonl"
    written = chain.log().archive(datetime(2026, 11, 1, 0, 10, tzinfo=UTC), archive)
    assert (written.first_seq, written.last_seq) == (1, 10)
    assert verify_archive(archive, None).ok
    assert verify_archive(archive, chain.log().trust).ok

    live = chain.verify()
    assert live.ok, live.summary()
    assert (live.first_seq, live.last_seq) == (11, 20)
    chain.append(5, start=datetime(2026, 11, 2, tzinfo=UTC), cosign_every=5)
    assert chain.verify().ok
    second = tmp_path / "2026-11-02.jsonl"
    assert chain.log().archive(datetime(2026, 11, 3, tzinfo=UTC), second).last_seq == 25
    assert verify_archive(second, chain.log().trust).ok
    assert chain.verify().ok

    lines = archive.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[4])
    record["payload"] = record["payload"].replace("residence-management", "curiosity")
    lines[4] = json.dumps(record, ensure_ascii=False)
    archive.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tampered = verify_archive(archive, None)
    assert tampered.problem is not None
    assert (tampered.problem.kind, tampered.problem.seq) == ("edited", 1)  # records 1–10


def test_an_archive_needs_its_cosignatures(chain: Chain, tmp_path: Path) -> None:
    archive = tmp_path / "a.jsonl"
    chain.log().archive(datetime(2026, 11, 1, 0, 10, tzinfo=UTC), archive)
    header, *records = archive.read_text(encoding="utf-8").splitlines()
    stripped = json.loads(header)
    stripped["end_checkpoint"] = stripped["end_checkpoint"].rsplit("— witness", 1)[0]
    archive.write_text("\n".join([json.dumps(stripped), *records]) + "\n", encoding="utf-8")
    report = verify_archive(archive, chain.log().trust)
    assert report.problem is not None
    assert "cosignature" in report.problem.detail


def test_the_cut_needs_its_signed_checkpoint(chain: Chain, tmp_path: Path) -> None:
    chain.log().archive(datetime(2026, 11, 1, 0, 10, tzinfo=UTC), tmp_path / "a.jsonl")
    engine = chain.engine()
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM audit_checkpoint WHERE size = 10"))
    finally:
        engine.dispose()
    report = chain.verify()
    assert report.problem is not None
    assert report.problem.kind == "checkpoint"


def test_the_archive_waits_for_the_witnesses(tmp_path: Path) -> None:
    """A checkpoint no witness has cosigned is no cut: the records stay."""
    with fresh_chain("sqlite", tmp_path, "unused", witnesses=1) as built:
        built.append(20)  # never offered to the witness
        with pytest.raises(ArchiveRefused, match="cosigned by 1 witness"):
            built.log().archive(datetime(2026, 11, 2, tzinfo=UTC), tmp_path / "a.jsonl")


def test_a_slow_trickle_is_checkpointed_by_time(tmp_path: Path) -> None:
    """Far from `every` records, a checkpoint is still signed once the last is `seconds`
    old (here: at once, so every record)."""
    with fresh_chain("sqlite", tmp_path, "unused", every=1_000) as built:
        built.audit.policy = built.audit.policy.model_copy(update={"checkpoint_seconds": 1e-9})
        built.append(3)
        report = built.log().verify()
    assert report.problem is None, report.summary()
    assert report.checkpoints == 3


def test_the_command_line_verifies_exports_and_exits_non_zero_when_broken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HUB_AUDIT_ORIGIN", ORIGIN)
    with fresh_chain("sqlite", tmp_path, "unused", every=1_000) as built:
        built.append(12)  # signed once, at the close
    assert hub_main(["audit", "verify", "--offline"]) == 0
    assert capsys.readouterr().out.startswith("OK: 12 records (1–12), 1 checkpoints")
    assert hub_main(["audit", "verify"]) == 2  # online, with no witness: incomplete
    assert "no witnesses are configured" in capsys.readouterr().out
    assert hub_main(["audit", "checkpoint"]) == 0
    assert capsys.readouterr().out == "nothing new to sign\n"
    assert (
        hub_main(
            ["audit", "export", "--from", "2026-11-01T00:05", "--out", str(tmp_path / "x.jsonl")]
        )
        == 0
    )
    assert len((tmp_path / "x.jsonl").read_text(encoding="utf-8").splitlines()) == 7
    with sqlite3.connect(tmp_path / "audit.db") as audit:
        audit.execute("UPDATE audit_record SET purpose = 'x' WHERE seq = 9")
    assert hub_main(["audit", "verify", "--offline"]) == 1
    assert "record 9" in capsys.readouterr().out


@contextmanager
def _hub_process(environment: dict[str, str], port: int) -> Iterator[hub_processes.Process]:
    process = hub_processes.popen(
        [hub_processes.HUB, "serve", "--port", str(port)],
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
    # Copies of the databases this test process migrated once, not migrated again here
    settings = migrated_settings("postgres", tmp_path, "hub_audit_procs")
    auth = build_auth_store(settings)
    audit = build_audit_store(settings, auth)
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
    killed = threading.Event()

    def load(port: int) -> None:
        doomed_port = port == first
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            auth=ClientCredentials("loader", secret),
            headers={"X-Purpose": TEST_PURPOSE},
            timeout=10,
        ) as client:
            while not stop.is_set() and not (doomed_port and killed.is_set()):
                try:
                    response = client.post("/graphql", json={"query": "{ __typename }"})
                except httpx.TransportError:
                    return  # the process was killed
                except AssertionError:
                    # The token request was refused: once the process is killed, its port
                    # is free for another test's server (a "404 Not Found" seen in a run).
                    if doomed_port and killed.is_set():
                        return
                    raise
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
        killed.set()
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    report = AuditLog(audit.database, audit_trust(settings)).verify(views=None)
    assert report.problem is None, report.summary()
    engine = audit.database.sync_engine()
    try:
        with engine.connect() as connection:
            recorded = set(connection.execute(select(record_t.c.request_id)).scalars())
    finally:
        engine.dispose()
    assert len(answered) > 100
    assert set(answered) <= recorded
