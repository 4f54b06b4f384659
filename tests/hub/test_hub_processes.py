"""`hub_processes`: a `hub` forked from the test process's zygote behaves as one started
fresh (output, exit codes, signals, its own pid), and a command whose environment the
zygote's imports could have read differently is started fresh."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

import hub_processes
from conftest import _free_port


def test_a_forked_command_answers_as_a_fresh_one(data_dir: Path) -> None:
    env = dict(os.environ)  # HUB_DATA_DIR: the migrated copy
    for command in ([hub_processes.HUB, "clients", "list"], [*hub_processes.MODULE, "nothing"]):
        forked = hub_processes.popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert isinstance(forked, hub_processes.HubProcess)
        out, err = forked.communicate(timeout=120)
        fresh = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert (forked.returncode, out, err) == (fresh.returncode, fresh.stdout, fresh.stderr)
        ran = hub_processes.run(command, env=env)
        assert (ran.returncode, ran.stdout, ran.stderr) == (
            fresh.returncode,
            fresh.stdout.decode(),
            fresh.stderr.decode(),
        )


def test_a_forked_server_is_its_own_process_and_dies_of_its_signals(data_dir: Path) -> None:
    # SIGTERM, not SIGINT: pytest-xdist's workers ignore SIGINT, and a child inherits that
    # (a fresh process as well as a forked one), so uvicorn, which re-raises the signal
    # it stopped for, would end with 0 there and with -SIGINT elsewhere.
    for signum in (signal.SIGTERM, signal.SIGKILL):
        port = _free_port()
        process = hub_processes.popen(
            [hub_processes.HUB, "serve", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert isinstance(process, hub_processes.HubProcess)
            deadline = time.monotonic() + 60
            while True:
                assert process.poll() is None
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "hub serve did not start"
                    time.sleep(0.1)
            assert Path(f"/proc/{process.pid}/cwd").resolve() == Path.cwd().resolve()
            with pytest.raises(subprocess.TimeoutExpired):
                process.wait(timeout=0.1)
            os.kill(process.pid, signum)  # the hub itself, not a go-between
            assert process.wait(timeout=30) == -signum
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        process.send_signal(signal.SIGTERM)  # as Popen: nothing sent once it has ended


def test_an_environment_read_on_import_starts_a_fresh_process(tmp_path: Path) -> None:
    help_ = [hub_processes.HUB, "--help"]
    forked = hub_processes.popen(help_, stdout=subprocess.DEVNULL)
    assert isinstance(forked, hub_processes.HubProcess)
    assert forked.wait(timeout=60) == 0
    for changed in ({"HUB_AGENCY_PATH": str(tmp_path)}, {"PROMETHEUS_MULTIPROC_DIR": "x"}):
        fresh = hub_processes.popen(help_, env={**os.environ, **changed}, stdout=subprocess.DEVNULL)
        assert isinstance(fresh, subprocess.Popen)
        assert fresh.wait(timeout=120) == 0
    other = hub_processes.popen(["true"])
    assert isinstance(other, subprocess.Popen)
    assert other.wait(timeout=10) == 0


def test_a_shell_finds_a_hub_that_answers_as_a_fresh_one(data_dir: Path) -> None:
    script = "hub audit verify --offline; hub no-such-command || echo $?"
    venv = os.path.dirname(hub_processes.HUB)
    env = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ['PATH']}"}
    fresh = subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=120)
    env = hub_processes.shim_environment(env)
    assert env["PATH"].startswith(str(hub_processes.shim_directory()))
    shimmed = subprocess.run(["bash", "-c", script], env=env, capture_output=True, timeout=120)
    assert (shimmed.returncode, shimmed.stdout, shimmed.stderr) == (
        fresh.returncode,
        fresh.stdout,
        fresh.stderr,
    )
