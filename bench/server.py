"""The real server, as production runs it: `hub serve` in its own process
(`HUB_ENV=production`, auth on), reached over loopback with a bearer token of the bench
client; its peak memory read from /proc."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.dataset import BENCH_CLIENT, BENCH_PURPOSE, HUB, Dataset

RATE_LIMITS = {"default": "50/s burst 200", BENCH_CLIENT: "off"}
"""The bench measures the hub, not its per-client rate limit: its own client is exempt."""


TICKS = os.sysconf("SC_CLK_TCK")

READY_SECONDS = 240
"""How long a served process may take to answer /readyz: importing the hub (in each
worker, too) takes tens of seconds on two cores shared with a loaded database."""


def cpu_of(pid: int) -> float:
    """A process's CPU seconds so far, all its threads (utime + stime, /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    pid: int
    url: str
    token: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "X-Purpose": BENCH_PURPOSE}

    def _status(self) -> dict[str, int]:
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) * 1024
        return found

    def cpu_seconds(self) -> float:
        return cpu_of(self.pid)

    def peak_rss(self) -> int:
        """Peak resident memory since the last `reset_peak` (bytes)."""
        return self._status()["VmHWM"]

    def reset_peak(self) -> None:
        """Peak back to the current RSS (clear_refs 5), so each workload gets its own peak."""
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")


@contextmanager
def serving(
    dataset: Dataset, secret: str, log_path: Path, *, audit: bool = True, workers: int = 1
) -> Iterator[Server]:
    port = _free_port()
    environment = {
        **os.environ,
        **dataset.environment(),
        "HUB_ENV": "production",
        "HUB_PORT": str(port),
        # production issues tokens only under an https issuer (a proxy's in front of the
        # hub); nothing here fetches it, and the bench talks plain HTTP to the hub itself
        "HUB_ISSUER": f"https://127.0.0.1:{port}",
        "HUB_TOKEN_TTL_SECONDS": "86400",
        "HUB_RATE_LIMITS": json.dumps(RATE_LIMITS),
        "HUB_AUDIT_ENABLED": "true" if audit else "false",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [str(HUB), "serve", "--workers", str(workers)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        token = httpx.post(
            f"{url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(BENCH_CLIENT, secret),
        ).json()["access_token"]
        yield Server(process.pid, url, token)
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextmanager
def serving_floor(dataset: Dataset, root: Path, log_path: Path) -> Iterator[str]:
    """The floor's own HTTP server (bench/floor_server.py) in its process; yields its URL."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "bench.floor_server",
        f"--backend={dataset.backend}",
        f"--scale={dataset.scale}",
        f"--seed={dataset.seed}",
        f"--root={root}",
        f"--port={port}",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_ready(url: str, process: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{process.args!r} did not become ready within {READY_SECONDS} s")
