"""`python -m bench.startup`: what a `hub` process costs before it does its work — CPU
seconds (user + system) and wall seconds of `hub --help`, `hub migrate` on a fresh SQLite
directory, and `hub serve` / `hub connector serve housing` from launch to their first
answered readiness request. The test suite starts dozens of such processes, and every
`hub serve --workers N` worker pays the serve cost again; the median of `--rounds` is
printed as a Markdown table (bench/results/make-test.md keeps the measured ones)."""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from statistics import median

import httpx

from bench.dataset import HUB
from bench.server import _free_port, cpu_of

READY_SECONDS = 120


def _environment(data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    return {**keep, "HUB_DATA_DIR": str(data_dir)}


def _run(command: list[str], data_dir: Path) -> tuple[float, float]:
    """(CPU s, wall s) of a command that runs to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(
        command,
        env=_environment(data_dir),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return cpu, wall


def _until_ready(command: list[str], data_dir: Path, path: str, port: int) -> tuple[float, float]:
    """(CPU s, wall s) of a server from launch to its first 200 at `path`."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=_environment(data_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        while time.perf_counter() - started < READY_SECONDS:
            if process.poll() is not None:
                raise RuntimeError(f"{command} exited: {process.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=5).status_code == 200:
                    return cpu_of(process.pid), time.perf_counter() - started
            except httpx.TransportError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{command} did not answer {path} within {READY_SECONDS} s")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _help(data_dir: Path) -> tuple[float, float]:
    return _run([str(HUB), "--help"], data_dir)


def _migrate(data_dir: Path) -> tuple[float, float]:
    fresh = data_dir / f"fresh-{time.monotonic_ns()}"
    return _run([str(HUB), "migrate"], fresh)


def _serve(data_dir: Path) -> tuple[float, float]:
    port = _free_port()
    return _until_ready([str(HUB), "serve", "--port", str(port)], data_dir, "/readyz", port)


def _connector_serve(data_dir: Path) -> tuple[float, float]:
    port = _free_port()
    command = [str(HUB), "connector", "serve", "housing", "--port", str(port)]
    return _until_ready(command, data_dir, "/healthz", port)


MEASURED: dict[str, Callable[[Path], tuple[float, float]]] = {
    "`hub --help`": _help,
    "`hub migrate` (fresh SQLite directory)": _migrate,
    "`hub serve` to its first answered /readyz": _serve,
    "`hub connector serve housing` to its first /healthz": _connector_serve,
}


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__)
    arguments.add_argument("--rounds", type=int, default=5)
    rounds = arguments.parse_args().rounds
    with tempfile.TemporaryDirectory(prefix="hub-startup-") as root:
        data_dir = Path(root) / "data"
        _run([str(HUB), "migrate"], data_dir)  # what the servers serve
        print(f"load average before: {os.getloadavg()[0]:.1f}; median of {rounds} rounds")
        print("| process | CPU s | wall s |\n|---|---|---|")
        for name, measure in MEASURED.items():
            cpu, wall = zip(*(measure(data_dir) for _ in range(rounds)), strict=True)
            print(f"| {name} | {median(cpu):.2f} | {median(wall):.2f} |", flush=True)
        print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
