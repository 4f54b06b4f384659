"""`python -m bench --scale small` (what `make bench SCALE=small` runs): for each backend,
seed or reuse the data set, check the hub's answers against the floor's, count statements,
then time both at each concurrency and write `bench/results/<backend>-<scale>.{json,md}`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import httpx
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench import statements
from bench.dataset import POSTGRES_SERVER, Dataset, prepare
from bench.floor import Floor
from bench.load import Budget, Stats, drive
from bench.report import (
    RESULTS,
    audit_markdown,
    machine,
    markdown,
    ratios_markdown,
    workers_markdown,
    write_result,
)
from bench.server import Server, cpu_of, serving, serving_floor
from bench.wire import Wire, graphql_ok
from bench.workloads import WORKLOADS, Call, sample_calls, summary_call

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT / ".hub" / "bench"
CHECKED_PER_WORKLOAD = 20


def _log(message: str) -> None:
    print(f"bench: {message}", flush=True)


def _postgres_up() -> bool:
    try:
        psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


async def _hub_answer(client: httpx.AsyncClient, server: Server, call: Call) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": call.document, "variables": call.variables},
        headers=server.headers(),
    )
    body: dict[str, Any] = response.json()
    if response.status_code != 200 or body.get("errors"):
        raise RuntimeError(f"{call.workload} {call.variables}: {response.status_code} {body}")
    return body


async def _check_answers(
    client: httpx.AsyncClient, server: Server, floor: Floor, calls: dict[str, list[Call]]
) -> str:
    """The floor must answer what the hub answers, or hub ÷ floor compares nothing."""
    checked = mismatched = 0
    for name, sampled in calls.items():
        if name == "mixed":
            continue
        for call in sampled[:CHECKED_PER_WORKLOAD]:
            checked += 1
            hub = (await _hub_answer(client, server, call))["data"]
            ours = await call.floor(floor)
            if hub != ours:
                mismatched += 1
                _log(f"MISMATCH {name} {call.variables}\n  hub   {hub}\n  floor {ours}")
    return f"{checked - mismatched} of {checked}"


async def _floor_statements(floor: Floor, calls: dict[str, list[Call]]) -> dict[str, float]:
    """Mean over the first calls (the mix's first cycle for `mixed`)."""
    counted = {}
    for name, sampled in calls.items():
        before, first = floor.statements, sampled[:10]
        for call in first:
            await call.floor(floor)
        counted[name] = round((floor.statements - before) / len(first), 1)
    return counted


async def _drive_floor_over_http(
    url: str, calls: list[Call], clients: int, budget: Budget
) -> Stats:
    """The same calls against the floor's HTTP server, with the same client."""
    async with Wire(url, clients) as wire:

        async def over_http(call: Call) -> bool:
            status, _ = await wire.post("/floor", call.floor_body)
            return status == 200

        try:
            return await drive(calls, over_http, clients, budget)
        finally:
            await wire.post("/floor/release", b"{}")


async def _drive_floor_in_process(
    floor: Floor, calls: list[Call], clients: int, budget: Budget
) -> Stats:
    """The same calls answered by the floor in this process; its connections are closed
    after the run (PostgreSQL's connection slots are shared with the served hub)."""

    async def direct(call: Call) -> bool:
        await call.floor(floor)
        return True

    await floor.open()
    try:
        return await drive(calls, direct, clients, budget)
    finally:
        await floor.close()


async def _drive_hub(server: Server, calls: list[Call], clients: int, budget: Budget) -> Stats:
    """The calls against the served hub over HTTP; an answer counts if it has no errors."""
    async with Wire(server.url, clients, server.headers()) as wire:

        async def over_http(call: Call) -> bool:
            return graphql_ok(*await wire.post("/graphql", call.graphql_body))

        return await drive(calls, over_http, clients, budget)


SUMMARY_REQUESTS = 10


async def _summary_latency(server: Server, call: Call) -> dict[str, float]:
    """A province's warningSummary, one request after another (its target is latency)."""
    elapsed = []
    async with Wire(server.url, 1, server.headers()) as wire:
        for _ in range(SUMMARY_REQUESTS):
            started = time.perf_counter()
            status, body = await wire.post("/graphql", call.graphql_body)
            elapsed.append((time.perf_counter() - started) * 1000)
            if not graphql_ok(status, body):
                raise RuntimeError(f"summary failed: {body[:500]!r}")
    elapsed.sort()
    return {
        "p50_ms": round(median(elapsed), 1),
        "max_ms": round(elapsed[-1], 1),
        "requests": len(elapsed),
    }


async def _time(
    server: Server,
    floor: Floor,
    floor_url: str,
    calls: dict[str, list[Call]],
    concurrency: list[int],
    budget: Budget,
) -> dict[str, list[dict[str, Any]]]:
    timed: dict[str, list[dict[str, Any]]] = {}
    for name, sampled in calls.items():
        timed[name] = []
        for clients in concurrency:
            await floor.close()
            server.reset_peak()
            hub = await _drive_hub(server, sampled, clients, budget)
            peak = server.peak_rss()
            ours = await _drive_floor_in_process(floor, sampled, clients, budget)
            served = await _drive_floor_over_http(floor_url, sampled, clients, budget)
            _log(
                f"{name:9} x{clients:<2}  hub {hub.rps:7.1f} req/s p99 {hub.p99_ms:7.1f} ms"
                f"  floor {ours.rps:7.1f} req/s p99 {ours.p99_ms:6.1f} ms"
                f"  floor/HTTP {served.rps:7.1f} req/s p99 {served.p99_ms:6.1f} ms"
                f"  errors {hub.errors}+{served.errors}"
            )
            timed[name].append(
                {
                    "clients": clients,
                    "hub": hub.as_dict(),
                    "floor": ours.as_dict(),
                    "floor_http": served.as_dict(),
                    "peak_rss_bytes": peak,
                }
            )
    return timed


AUDIT_WORKLOADS = ("worker", "dossier", "mixed")
AUDIT_CLIENTS = (1, 8)
AUDIT_ROUNDS = 2


class _DatabaseCpu:
    """The CPU of the PostgreSQL backends serving one database, from /proc (this machine's
    server): None on SQLite, whose work is the hub process's own."""

    def __init__(self, dataset: Dataset, target: str) -> None:
        self.url = dataset.database_url(target) if dataset.backend == "postgres" else None
        self._start: dict[int, float] = {}

    def _backends(self) -> dict[int, float]:
        assert self.url is not None
        with psycopg.connect(self.url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchall()
        found = {}
        for (pid,) in rows:
            with contextlib.suppress(FileNotFoundError):  # gone meanwhile
                found[pid] = cpu_of(pid)
        return found

    def start(self) -> None:
        if self.url is not None:
            self._start = self._backends()

    def spent(self) -> float | None:
        """CPU seconds since `start`; a backend that connected since counts whole."""
        if self.url is None:
            return None
        return sum(cpu - self._start.get(pid, 0.0) for pid, cpu in self._backends().items())


AUDIT_COUNTERS = ("hub_audit_records_total", "hub_audit_commit_duration_seconds_count")
"""The audit writer's records and commits (`kernel.metrics`), as `/metrics` shows them."""


async def _audit_counts(server: Server) -> tuple[float, float]:
    """Records and commits the served hub's audit writer has counted so far: their ratio
    over a run is the group size, which sets what the log costs a request (each commit
    costs a round trip and a transaction whatever its size, each record little)."""
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{server.url}/metrics", headers=server.headers())
    response.raise_for_status()
    found = dict.fromkeys(AUDIT_COUNTERS, 0.0)
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name in found:
                found[sample.name] += sample.value
    records, commits = found.values()
    return records, commits


def _mean_ms(runs: list[tuple[float, float | None]], column: int) -> float | None:
    values = [run[column] for run in runs]
    if any(value is None for value in values):
        return None
    return round(1000 * sum(v for v in values if v is not None) / len(values), 3)


async def _audit_cost(
    dataset: Dataset,
    secret: str,
    calls: dict[str, list[Call]],
    budget: Budget,
    rounds: int = AUDIT_ROUNDS,
) -> dict[str, list[dict[str, Any]]]:
    """Requests/s with the audit log off and on, alternating servers over a few rounds so
    drift hits both alike; `ratio` is on ÷ off (1.0 = free, 0.85 = 15 % slower). Beside
    them the CPU a request took in the served process and in the audit database's
    backends: steadier than requests/s on a loaded shared machine."""
    rates: dict[tuple[str, int, bool], list[float]] = {}
    cpu: dict[tuple[str, int, bool], list[tuple[float, float | None]]] = {}
    groups: dict[tuple[str, int], list[tuple[float, float]]] = {}
    audit_database = _DatabaseCpu(dataset, "audit")
    measured_workloads = [name for name in AUDIT_WORKLOADS if name in calls]
    for _ in range(rounds):
        for audit in (False, True):
            log_path = dataset.directory / f"server-audit-{'on' if audit else 'off'}.log"
            with serving(dataset, secret, log_path, audit=audit) as server:
                for name in measured_workloads:
                    for clients in AUDIT_CLIENTS:
                        counted = await _audit_counts(server) if audit else (0.0, 0.0)
                        audit_database.start()
                        started = server.cpu_seconds()
                        measured = await _drive_hub(server, calls[name], clients, budget)
                        served = server.cpu_seconds() - started
                        database = audit_database.spent()
                        if audit:  # outside the CPU measured: /metrics is not a request's
                            records, commits = await _audit_counts(server)
                            groups.setdefault((name, clients), []).append(
                                (records - counted[0], commits - counted[1])
                            )
                        answered = measured.requests + min(budget.warmup, len(calls[name]))
                        rates.setdefault((name, clients, audit), []).append(measured.rps)
                        cpu.setdefault((name, clients, audit), []).append(
                            (served / answered, None if database is None else database / answered)
                        )
    cost: dict[str, list[dict[str, Any]]] = {}
    for name in measured_workloads:
        for clients in AUDIT_CLIENTS:
            off = sum(rates[name, clients, False]) / rounds
            on = sum(rates[name, clients, True]) / rounds

            cost.setdefault(name, []).append(
                {
                    "clients": clients,
                    "off_rps": round(off, 1),
                    "on_rps": round(on, 1),
                    "ratio": round(on / off, 3),
                    "off_cpu_ms": _mean_ms(cpu[name, clients, False], 0),
                    "on_cpu_ms": _mean_ms(cpu[name, clients, True], 0),
                    "off_audit_db_cpu_ms": _mean_ms(cpu[name, clients, False], 1),
                    "on_audit_db_cpu_ms": _mean_ms(cpu[name, clients, True], 1),
                    "on_records_per_commit": _per_commit(groups[name, clients]),
                }
            )
            _log(
                f"audit {name:9} x{clients:<2} off {off:8.1f} on {on:8.1f} req/s"
                f"  on/off {on / off:.3f}  CPU ms/req {_mean_ms(cpu[name, clients, False], 0)}"
                f" -> {_mean_ms(cpu[name, clients, True], 0)}"
            )
    return cost


def _per_commit(runs: list[tuple[float, float]]) -> float | None:
    """Records a commit over all rounds (None: nothing was committed)."""
    commits = sum(counted for _, counted in runs)
    return round(sum(records for records, _ in runs) / commits, 2) if commits else None


def _about(backend: str, scale: str) -> dict[str, Any]:
    """What every result file starts with: what was measured, when and on what."""
    return {
        "backend": backend,
        "scale": scale,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }


async def _prepared(
    backend: str, scale: str, seed: int
) -> tuple[Dataset, dict[str, Any], dict[str, list[Call]]]:
    """The data set (seeded or reused), its manifest, and each workload's calls."""
    dataset = Dataset.at(DATA_ROOT, backend, scale, seed)
    manifest = prepare(dataset, _log)
    floor = Floor(dataset)
    await floor.open()
    try:
        return dataset, manifest, await sample_calls(floor, seed)
    finally:
        await floor.close()


async def run(
    backend: str,
    scale: str,
    seed: int,
    concurrency: list[int],
    budget: Budget,
    workloads: list[str],
    audit_rounds: int,
) -> dict[str, Any]:
    about = _about(backend, scale)
    dataset, manifest, calls = await _prepared(backend, scale, seed)
    floor = Floor(dataset)
    await floor.open()
    try:
        [[region, _]] = await floor.db["housing"].fetch(
            "SELECT region_code, COUNT(*) FROM housing_project"
            " WHERE status = 'under_construction' GROUP BY region_code"
            " ORDER BY COUNT(*) DESC, region_code LIMIT 1"
        )
        last_month = calls["project"][0].variables["month"]
        calls = {name: calls[name] for name in workloads}
        _log("counting statements in process ...")
        counted = await statements.count(dataset, manifest["secret"], calls, region, last_month)
        floor_counted = await _floor_statements(floor, calls)
        with (
            serving(dataset, manifest["secret"], dataset.directory / "server.log") as server,
            serving_floor(dataset, DATA_ROOT, dataset.directory / "floor.log") as floor_url,
        ):
            async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
                checked = await _check_answers(client, server, floor, calls)
            _log(f"answers equal to the floor's: {checked}")
            timed = await _time(server, floor, floor_url, calls, concurrency, budget)
            summary_ms = await _summary_latency(server, summary_call(region[:2], last_month))
        audit_cost = {}
        if audit_rounds:
            _log("audit on vs off ...")
            audit_cost = await _audit_cost(dataset, manifest["secret"], calls, budget, audit_rounds)
    finally:
        await floor.close()
    return {
        **about,
        "dataset": {k: v for k, v in manifest.items() if k != "secret"},
        "budget": {"max_requests": budget.max_requests, "seconds": budget.seconds},
        "answers_checked": checked,
        "statements": counted,
        "floor_statements": floor_counted,
        "workloads": timed,
        "summary_ms": summary_ms,
        "audit_cost": audit_cost,
    }


async def run_audit_only(
    backend: str, scale: str, seed: int, budget: Budget, rounds: int
) -> dict[str, Any]:
    """Only the audit log's cost: quick enough to repeat on a quiet machine."""
    about = _about(backend, scale)
    dataset, manifest, calls = await _prepared(backend, scale, seed)
    cost = await _audit_cost(dataset, manifest["secret"], calls, budget, rounds)
    return {
        **about,
        "rounds": rounds,
        "audit_cost": cost,
    }


RATIO_WORKLOADS = ("worker", "dossier", "project", "dashboard")
WORKERS_CLIENTS = 8
WORKERS_WORKLOADS = ("worker", "dossier", "dashboard", "mixed")


async def run_workers_only(
    backend: str, scale: str, seed: int, budget: Budget, rounds: int
) -> dict[str, Any]:
    """Requests/s at 8 clients of `hub serve --workers 1` and `--workers 2`, alternating
    servers over `rounds` rounds so drift hits both alike."""
    about = _about(backend, scale)
    dataset, manifest, calls = await _prepared(backend, scale, seed)
    measured: dict[str, dict[str, list[float]]] = {
        name: {"1": [], "2": []} for name in WORKERS_WORKLOADS
    }
    for round_number in range(rounds):
        for workers in (1, 2):
            log_path = dataset.directory / f"server-workers-{workers}.log"
            with serving(dataset, manifest["secret"], log_path, workers=workers) as server:
                for name in WORKERS_WORKLOADS:
                    rate = (await _drive_hub(server, calls[name], WORKERS_CLIENTS, budget)).rps
                    measured[name][str(workers)].append(rate)
                    _log(f"round {round_number + 1} {name:9} x{workers} {rate:8.1f} req/s")
    return {
        **about,
        "rounds": rounds,
        "clients": WORKERS_CLIENTS,
        "seconds_per_run": budget.seconds,
        "workers": measured,
    }


async def run_ratios_only(
    backend: str, scale: str, seed: int, budget: Budget, rounds: int
) -> dict[str, Any]:
    """hub ÷ floor at one client, the target's measure, over `rounds` rounds that take the
    hub, the floor over HTTP and the floor in process in turn, so that a machine whose
    speed drifts (shared cores) slows all three alike; the median ratio is reported."""
    about = _about(backend, scale)
    dataset, manifest, calls = await _prepared(backend, scale, seed)
    floor = Floor(dataset)
    measured: dict[str, dict[str, list[float]]] = {
        name: {"hub": [], "floor": [], "floor_http": []} for name in RATIO_WORKLOADS
    }
    with (
        serving(dataset, manifest["secret"], dataset.directory / "server.log") as server,
        serving_floor(dataset, DATA_ROOT, dataset.directory / "floor.log") as floor_url,
    ):
        for round_number in range(rounds):
            for name in RATIO_WORKLOADS:
                sampled = calls[name]
                rates = measured[name]
                rates["hub"].append((await _drive_hub(server, sampled, 1, budget)).rps)
                served = await _drive_floor_over_http(floor_url, sampled, 1, budget)
                rates["floor_http"].append(served.rps)
                direct = await _drive_floor_in_process(floor, sampled, 1, budget)
                rates["floor"].append(direct.rps)
                _log(
                    f"round {round_number + 1} {name:9} hub {rates['hub'][-1]:7.1f}"
                    f"  floor/HTTP {rates['floor_http'][-1]:7.1f}"
                    f"  floor {rates['floor'][-1]:7.1f} req/s"
                )

    def spread(floor_rates: list[float], hub_rates: list[float]) -> dict[str, float]:
        ratios = sorted(f / h for f, h in zip(floor_rates, hub_rates, strict=True))
        return {"median": median(ratios), "min": ratios[0], "max": ratios[-1]}

    ratios = {
        name: {
            "rates": rates,
            "over_http": spread(rates["floor_http"], rates["hub"]),
            "in_process": spread(rates["floor"], rates["hub"]),
        }
        for name, rates in measured.items()
    }
    return {
        **about,
        "rounds": rounds,
        "seconds_per_run": budget.seconds,
        "ratios": ratios,
    }


def _exit_on_terminate(signum: int, frame: object) -> None:
    """SIGTERM unwinds like Ctrl-C, so the served hub is stopped, not orphaned."""
    raise SystemExit(128 + signum)


def main() -> int:
    signal.signal(signal.SIGTERM, _exit_on_terminate)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", default="small", choices=["demo", "small", "medium", "large"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--clients", default="1,8,32", help="concurrency levels")
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per run")
    parser.add_argument("--max-requests", type=int, default=2000, help="request cap per run")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help="which workloads to time")
    parser.add_argument(
        "--audit-rounds",
        type=int,
        default=AUDIT_ROUNDS,
        help="alternating audit off/on rounds after the timed runs (0: none)",
    )
    parser.add_argument(
        "--ratios-only",
        type=int,
        metavar="ROUNDS",
        help="measure only hub ÷ floor at one client, over this many alternating rounds",
    )
    parser.add_argument(
        "--workers-only",
        type=int,
        metavar="ROUNDS",
        help="measure only hub serve --workers 1 against --workers 2 at 8 clients",
    )
    parser.add_argument(
        "--audit-only",
        type=int,
        metavar="ROUNDS",
        help="measure only audit on vs off, over this many alternating rounds",
    )
    args = parser.parse_args()
    budget = Budget(max_requests=args.max_requests, seconds=args.seconds)
    concurrency = [int(c) for c in args.clients.split(",")]
    RESULTS.mkdir(parents=True, exist_ok=True)

    def defaults(*names: str) -> bool:
        return all(getattr(args, name) == parser.get_default(name) for name in names)

    def save(name: str, result: dict[str, Any], table: str, complete: bool) -> None:
        """A quick look (any budget or selection off the defaults) is written as
        `*-partial.*`, so it never replaces the tables docs/benchmarks.md shows."""
        write_result(f"{name}{'' if complete else '-partial'}", result, table)

    full_budget = defaults("seconds", "max_requests")
    for backend in args.backends.split(","):
        if backend == "postgres" and not _postgres_up():
            _log(f"PostgreSQL is not reachable at {POSTGRES_SERVER}; skipping it")
            continue
        name = f"{backend}-{args.scale}"
        if args.ratios_only:
            ratios = run_ratios_only(backend, args.scale, args.seed, budget, args.ratios_only)
            result = asyncio.run(ratios)
            save(f"ratios-{name}", result, ratios_markdown(result), full_budget)
            continue
        if args.workers_only:
            served = run_workers_only(backend, args.scale, args.seed, budget, args.workers_only)
            result = asyncio.run(served)
            save(f"workers-{name}", result, workers_markdown(result), full_budget)
            continue
        if args.audit_only:
            audited = run_audit_only(backend, args.scale, args.seed, budget, args.audit_only)
            result = asyncio.run(audited)
            save(f"audit-{name}", result, audit_markdown(result), full_budget)
            continue
        workloads = args.workloads.split(",")
        timed = run(
            backend, args.scale, args.seed, concurrency, budget, workloads, args.audit_rounds
        )
        result = asyncio.run(timed)
        complete = full_budget and defaults("workloads", "clients", "audit_rounds")
        save(name, result, markdown(result), complete)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
