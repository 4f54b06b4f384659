"""Results as JSON (everything measured) and as the Markdown tables docs/benchmarks.md shows."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from statistics import median
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(name: str, result: dict[str, Any], table: str) -> None:
    """`bench/results/<name>.json` (everything measured) and `.md` (the table), and the
    table printed."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / name
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    stem.with_suffix(".md").write_text(table)
    print(table)


def machine() -> dict[str, Any]:
    """What the numbers were measured on: they mean little without it."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.partition(":")[2].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            memory_kib = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(memory_kib / 2**20, 1),
        "python": platform.python_version(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
    }


def _ratio(floor_rps: float, hub_rps: float) -> str:
    return f"{floor_rps / hub_rps:.1f}" if hub_rps else "–"


def _served_ratio(run: dict[str, Any]) -> str:
    """hub ÷ the floor served over HTTP (runs before it existed have none)."""
    served = run.get("floor_http")
    return _ratio(served["rps"], run["hub"]["rps"]) if served else "–"


def markdown(result: dict[str, Any]) -> str:
    """One backend at one scale: throughput and latency, then statements per request."""
    box = result["machine"]
    data = result["dataset"]
    lines = [
        f"### {result['backend']}, scale `{result['scale']}` (seed {data['seed']})",
        "",
        f"Machine: {box['nproc']} cores ({box['cpu']}), {box['ram_gib']} GiB RAM, "
        f"Python {box['python']}. Seeding took {data['seed_seconds']} s; the agencies' "
        f"databases hold {data['size_bytes'] / 2**20:.0f} MiB. Answers checked equal to the "
        f"floor's: {result['answers_checked']}.",
        "",
        "| workload | clients | hub req/s | floor req/s in process / over HTTP "
        "| hub ÷ floor in process / over HTTP | hub p50 / p95 / p99 ms "
        "| floor over HTTP p50 / p95 / p99 ms | server peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, runs in result["workloads"].items():
        for run in runs:
            hub, floor, served = run["hub"], run["floor"], run.get("floor_http")
            errors = f" ({hub['errors']} errors)" if hub["errors"] else ""
            served_rps = served["rps"] if served else "–"
            served_latency = (
                f"{served['p50_ms']} / {served['p95_ms']} / {served['p99_ms']}" if served else "–"
            )
            lines.append(
                f"| {name} | {run['clients']} | {hub['rps']}{errors} "
                f"| {floor['rps']} / {served_rps} "
                f"| {_ratio(floor['rps'], hub['rps'])} / {_served_ratio(run)} "
                f"| {hub['p50_ms']} / {hub['p95_ms']} / {hub['p99_ms']} "
                f"| {served_latency} "
                f"| {run['peak_rss_bytes'] / 2**20:.0f} |"
            )
    lines += [
        "",
        "| workload | hub SQL statements per request | rows shown | rows read "
        "| by database (mean) | floor statements |",
        "|---|---:|---:|---:|---|---:|",
    ]
    for name, counted in result["statements"].items():
        if name in ("dashboard_page_sizes", "summary_province"):
            continue
        agencies = ", ".join(f"{k} {v}" for k, v in counted["by_agency_mean"].items())
        read = (
            f"{counted['rows_read_min']}–{counted['rows_read_max']}"
            if "rows_read_min" in counted
            else "–"
        )
        lines.append(
            f"| {name} | {counted['statements_min']}–{counted['statements_max']} "
            f"| {counted['rows_min']}–{counted['rows_max']} | {read} | {agencies} "
            f"| {result['floor_statements'].get(name, '–')} |"
        )
    pages = ", ".join(
        f"first {size}: {counted[0]} statements for {counted[1]} rows"
        for size, counted in result["statements"]["dashboard_page_sizes"].items()
    )
    lines += ["", f"Dashboard page size vs statements (busiest district): {pages}.", ""]
    if summary := result["statements"].get("summary_province"):
        latency = result.get("summary_ms", {})
        lines += [
            f"warningSummary of the province: {summary['statements']} statements, "
            f"{summary['rows_read']} rows read, {summary['rows_shown']} rows shown; over HTTP "
            f"at one client p50 {latency.get('p50_ms', '–')} ms, max {latency.get('max_ms', '–')} "
            f"ms ({latency.get('requests', 0)} requests).",
            "",
        ]
    if cost := result.get("audit_cost"):
        lines += audit_lines(cost)
    return "\n".join(lines)


def audit_lines(cost: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = [
        "Audit log on vs off (servers alternated, mean of rounds); CPU per request of the"
        " served process and of the audit database's backends (PostgreSQL), off → on; with"
        " the log on, the records a commit (the writer's groups: a commit costs a round trip"
        " and a transaction whatever its size, so the log costs a request less the larger"
        " they are):",
        "",
        "| workload | clients | off req/s | on req/s | on ÷ off | hub CPU ms | audit DB CPU ms"
        " | records a commit |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]

    def change(run: dict[str, Any], off: str, on: str) -> str:
        return "" if run.get(on) is None else f"{run[off]} → {run[on]}"

    lines += [
        f"| {name} | {run['clients']} | {run['off_rps']} | {run['on_rps']} | {run['ratio']} "
        f"| {change(run, 'off_cpu_ms', 'on_cpu_ms')} "
        f"| {change(run, 'off_audit_db_cpu_ms', 'on_audit_db_cpu_ms')} "
        f"| {run.get('on_records_per_commit') or '–'} |"
        for name, runs in cost.items()
        for run in runs
    ]
    return [*lines, ""]


def audit_markdown(result: dict[str, Any]) -> str:
    """`--audit-only`: the audit log's cost alone (requests/s best on a quiet machine)."""
    box = result["machine"]
    return "\n".join(
        [
            f"### Audit cost, {result['backend']}, scale `{result['scale']}`, "
            f"{result['rounds']} rounds",
            "",
            f"Machine: {box['nproc']} cores ({box['cpu']}), {box['ram_gib']} GiB RAM, "
            f"Python {box['python']}, load average {box.get('load_average')}; measured "
            f"{result['measured_at']}.",
            "",
            *audit_lines(result["audit_cost"]),
        ]
    )


def workers_markdown(result: dict[str, Any]) -> str:
    """`--workers-only`: `hub serve --workers 2` against one worker at the same load."""
    box = result["machine"]
    lines = [
        f"### hub serve --workers 1 and 2, {result['backend']}, scale `{result['scale']}`, "
        f"{result['clients']} clients, {result['rounds']} rounds of {result['seconds_per_run']} s",
        "",
        f"Machine: {box['nproc']} cores ({box['cpu']}), {box['ram_gib']} GiB RAM, "
        f"Python {box['python']}, load average {box.get('load_average')}; measured "
        f"{result['measured_at']} (the bench client shares the cores).",
        "",
        "| workload | 1 worker req/s | 2 workers req/s | 2 ÷ 1: median (range) |",
        "|---|---:|---:|---:|",
    ]
    for name, measured in result["workers"].items():
        ratios = sorted(two / one for one, two in zip(measured["1"], measured["2"], strict=True))
        lines.append(
            f"| {name} | {median(measured['1']):.1f} | {median(measured['2']):.1f} "
            f"| {median(ratios):.2f} ({ratios[0]:.2f}–{ratios[-1]:.2f}) |"
        )
    return "\n".join([*lines, ""])


def ratios_markdown(result: dict[str, Any]) -> str:
    """`--ratios-only`: hub ÷ floor at one client, median and range over the rounds."""
    box = result["machine"]
    lines = [
        f"### hub ÷ floor at 1 client, {result['backend']}, scale `{result['scale']}`, "
        f"{result['rounds']} rounds of {result['seconds_per_run']} s runs",
        "",
        f"Machine: {box['nproc']} cores ({box['cpu']}), {box['ram_gib']} GiB RAM, "
        f"Python {box['python']}; measured {result['measured_at']}.",
        "",
        "| workload | hub req/s (median) | floor over HTTP req/s | floor in process req/s "
        "| hub ÷ floor over HTTP: median (range) | hub ÷ floor in process: median (range) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, measured in result["ratios"].items():
        rates = {kind: median(values) for kind, values in measured["rates"].items()}
        http, direct = measured["over_http"], measured["in_process"]
        lines.append(
            f"| {name} | {rates['hub']:.1f} | {rates['floor_http']:.1f} | {rates['floor']:.1f} "
            f"| {http['median']:.2f} ({http['min']:.2f}–{http['max']:.2f}) "
            f"| {direct['median']:.2f} ({direct['min']:.2f}–{direct['max']:.2f}) |"
        )
    return "\n".join([*lines, ""])


def summary(results: list[dict[str, Any]]) -> str:
    """One line per backend, scale and workload, for docs/benchmarks.md: throughput at each
    concurrency, p99 at 8 clients, hub ÷ floor at 1 client, statements per request."""
    lines = [
        "| backend | scale | workload | hub req/s at 1 / 8 / 32 clients | p50 / p99 ms at 8 "
        "| hub ÷ floor at 1 (in process / over HTTP) | SQL statements per request (floor) "
        "| peak RSS MiB |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        for name, runs in result["workloads"].items():
            by_clients = {run["clients"]: run for run in runs}
            rps = " / ".join(str(run["hub"]["rps"]) for run in runs)
            eight = by_clients.get(8, runs[0])["hub"]
            one = by_clients.get(1, runs[0])
            counted = result["statements"][name]
            spread = f"{counted['statements_min']}–{counted['statements_max']}"
            if counted["statements_min"] == counted["statements_max"]:
                spread = str(counted["statements_min"])
            peak = max(run["peak_rss_bytes"] for run in runs) / 2**20
            lines.append(
                f"| {result['backend']} | {result['scale']} | {name} | {rps} "
                f"| {eight['p50_ms']:.1f} / {eight['p99_ms']:.1f} "
                f"| {_ratio(one['floor']['rps'], one['hub']['rps'])} / {_served_ratio(one)} "
                f"| {spread} ({result['floor_statements'][name]}) | {peak:.0f} |"
            )
    return "\n".join(lines)


def seeding(results: list[dict[str, Any]]) -> str:
    """Seed time and size per backend and scale."""
    lines = [
        "| backend | scale | `hub seed` s | then ANALYZE s | agencies' databases MiB |",
        "|---|---|---:|---:|---:|",
    ]
    for result in results:
        data = result["dataset"]
        lines.append(
            f"| {result['backend']} | {result['scale']} | {data['seed_seconds']} "
            f"| {data.get('analyze_seconds', '–')} | {data['size_bytes'] / 2**20:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    """Print the summary of every result in bench/results (for docs/benchmarks.md)."""
    order = {"demo": 0, "small": 1, "medium": 2, "large": 3}
    results = [
        json.loads(path.read_text())
        for path in sorted(Path(__file__).with_name("results").glob("*.json"))
        if not path.name.startswith(("audit-", "ratios-")) and "-partial" not in path.name
    ]
    results.sort(key=lambda r: (order.get(r["scale"], 9), r["backend"]))
    print(summary(results))
    print()
    print(seeding(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
