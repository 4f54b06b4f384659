"""`python -m bench.profile --scale small --backend sqlite --workload dossier`: where the
served hub spends its CPU on one workload. py-spy samples the real `hub serve` process
(the thread holding the GIL: Python's CPU time) while the bench drives it; the collapsed
stacks are reduced to shares of samples per package and per function of our own code, and
written to `bench/results/profile-<backend>-<scale>-<workload>.md`."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections import Counter
from pathlib import Path

from bench.__main__ import DATA_ROOT, RESULTS
from bench.dataset import Dataset, prepare
from bench.floor import Floor
from bench.load import Budget, drive
from bench.server import Server, serving
from bench.wire import Wire, graphql_ok
from bench.workloads import Call, sample_calls

PY_SPY = Path(sys.executable).with_name("py-spy")
OWN_PACKAGES = (
    *("kernel", "storage", "ingest", "auth", "synthetic", "connectors", "graph"),
    *("audit", "alerts", "web", "hub"),
)
"""The project's packages, bottom layer first (tests/test_layering.py)."""
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?):\d+\)$")
TOP = 20
ROOT = f"{Path(__file__).resolve().parents[1]}/"


def _package(file: str) -> str:
    """The package a frame's file belongs to: a site-package, or one of ours."""
    if "site-packages/" in file:
        return file.split("site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    for package in OWN_PACKAGES:
        if f"/{package}/" in file:
            return package
    return "python" if "/lib/python" in file else Path(file).name


def summarise(collapsed: str) -> tuple[int, Counter[str], Counter[str], Counter[str]]:
    """Total samples; inclusive samples per package and per own function; self samples per
    function (the leaf frame)."""
    total = 0
    packages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for line in collapsed.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [m for f in stack.split(";") if (m := FRAME.match(f))]
        seen_packages: set[str] = set()
        seen_own: set[str] = set()
        for frame in frames:
            package = _package(frame["file"])
            seen_packages.add(package)
            if package in OWN_PACKAGES and not frame["file"].endswith("hub/cli.py"):
                seen_own.add(f"{frame['function']} ({frame['file'].removeprefix(ROOT)})")
        packages.update(dict.fromkeys(seen_packages, samples))
        own.update(dict.fromkeys(seen_own, samples))
        if frames:
            leaf = frames[-1]
            leaves[f"{leaf['function']} ({_package(leaf['file'])})"] += samples
    return total, packages, own, leaves


def _table(title: str, counted: Counter[str], total: int) -> list[str]:
    lines = [f"| {title} | share of samples |", "|---|---:|"]
    lines += [f"| `{name}` | {100 * n / total:.1f} % |" for name, n in counted.most_common(TOP)]
    return [*lines, ""]


async def _drive(server: Server, calls: list[Call], clients: int, budget: Budget) -> None:
    async with Wire(server.url, clients, server.headers()) as wire:

        async def over_http(call: Call) -> bool:
            return graphql_ok(*await wire.post("/graphql", call.graphql_body))

        stats = await drive(calls, over_http, clients, budget)
    print(f"bench.profile: {stats.requests} requests, {stats.rps} req/s while sampled")


async def profile(backend: str, scale: str, workload: str, clients: int, seconds: float) -> Path:
    dataset = Dataset.at(DATA_ROOT, backend, scale, 42)
    manifest = prepare(dataset)
    floor = Floor(dataset)
    await floor.open()
    try:
        calls = (await sample_calls(floor, 42))[workload]
    finally:
        await floor.close()
    raw = dataset.directory / f"profile-{workload}.txt"
    with serving(dataset, manifest["secret"], dataset.directory / "server.log") as server:
        await _drive(server, calls, clients, Budget(max_requests=50, seconds=2))
        sampler = await asyncio.create_subprocess_exec(
            str(PY_SPY),
            *("record", "-p", str(server.pid), "-f", "raw", "-o", str(raw)),
            *("-r", "250", "-d", str(int(seconds)), "--nonblocking", "--gil", "--full-filenames"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        await _drive(server, calls, clients, Budget(max_requests=10**6, seconds=seconds - 1))
        await sampler.wait()
    return report(raw, f"{workload} on {backend}, scale `{scale}`, {clients} client(s)")


def report(raw: Path, title: str) -> Path:
    """Reduce py-spy's collapsed stacks in `raw` to bench/results/profile-<...>.md."""
    total, packages, own, leaves = summarise(raw.read_text())
    lines = [
        f"### Profile: {title}",
        "",
        f"py-spy `--gil`, {total} samples of the thread holding the GIL in the server process:"
        " Python's CPU time (SQLite's own work in C, outside the GIL, is not in it).",
        "",
        *_table("package (inclusive)", packages, total),
        *_table("our function (inclusive)", own, total),
        *_table("leaf function (self)", leaves, total),
    ]
    out = RESULTS / f"profile-{raw.parent.name}-{raw.stem.removeprefix('profile-')}.md"
    out.write_text("\n".join(lines))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--scale", default="small")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--workload", default="dossier")
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    out = asyncio.run(profile(args.backend, args.scale, args.workload, args.clients, args.seconds))
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
