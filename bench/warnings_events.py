"""Warnings at scale: a synthetic world seeded at a scale and evaluated whole (an empty
state: every event raised at once), then the bank's payroll for its latest month imported
again with a share of the transfers failed (as `hub import` does: read, checked,
upserted; only the rows that changed get the import's batch) and the warning rules
evaluated as the hub does after an import — looking again only at what the import
changed (`graph.scope`) — with the events queued to three subscriptions; then again
(nothing changed), then whole (what every evaluation did before: it must raise nothing,
and its time is the same run's baseline). Each evaluation is timed whole (observed and
recorded: events, deliveries and work orders committed) and by part, with the process's
CPU seconds beside the wall-clock ones (the machine is shared: the load average is
reported at each step). `--baseline` also times the per-project observation
(`Observer(per_project=True)`, what every evaluation ran before the set-based sweep) in
the same run, for the ratio. Then the delivery throughput to a local receiver: bodies
built as the subscribing client through the graph, audited, signed and POSTed, by one
dispatcher.

    python -m bench.warnings_events [--scale small|medium|large] [--backend sqlite|postgres|both]
        [--failed 0.05] [--deliveries 2000] [--baseline] [--keep-world DIR]

Scale large is a million workers: its latest month's payroll, re-imported, is about a
million rows. `--keep-world DIR` (SQLite): the seeded world is kept in
`DIR/sqlite-<scale>` and copied from there by later runs instead of seeded again (a
million workers take minutes to seed); delete the directory when done.

Writes bench/results/warnings-<backend>-<scale>.{json,md}. PostgreSQL needs
HUB_BENCH_POSTGRES_URL (or HUB_TEST_POSTGRES_URL): databases `bench_warnings_<scale>_<store>`
are created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import func, select

from alerts.kinds import Kind
from alerts.settings import AlertSettings
from alerts.store import AlertStore
from audit.settings import AuditSettings
from bench.deliveries import (
    Receiver,
    drop_postgres,
    fresh_postgres,
    seeded_world,
    timed_dispatch,
)
from bench.report import RESULTS, machine
from connectors.bank.models import Disbursement
from connectors.bank.tables import DISBURSEMENTS
from connectors.base import Connector
from graph.events import Baseline, Observations, Observer
from hub.importing import Importer, Sender
from hub.settings import HubSettings
from hub.wiring import (
    build_connectors,
    build_cursors,
    build_observer,
    loader_factories,
)
from ingest.engine import ImportOptions
from ingest.writers import write_csv


def _latest_payroll(settings: HubSettings, failed: float, path: Path) -> tuple[int, int]:
    """The latest month's payroll as the bank would send it again, every n-th transfer
    failed: (rows, failed rows)."""
    bank = build_connectors(settings)
    database = next(c for c in bank if c.name == "bank").database
    table = Disbursement.__table__  # type: ignore[attr-defined]
    engine = database.sync_engine()
    every = max(round(1 / failed), 1) if failed else 0
    rows: list[tuple[Any, ...]] = []
    try:
        with engine.connect() as connection:
            latest = connection.execute(select(func.max(table.c.pay_month))).scalar_one()
            for i, row in enumerate(
                connection.execute(
                    select(table).where(table.c.pay_month == latest).order_by(table.c.id)
                )
            ):
                status = "failed" if every and i % every == 0 else row.status
                rows.append(
                    (
                        row.account_no, row.project_code, row.worker_name, row.worker_id_number,
                        row.card_no, row.pay_month, row.paid_on, row.due_fen, row.amount_fen,
                        status, row.days, row.is_back_pay,
                        row.period if row.is_back_pay else None, row.serial_no,
                    )
                )  # fmt: skip
    finally:
        engine.dispose()
    with path.open("wb") as out:
        write_csv(out, DISBURSEMENTS.spec, rows, "utf-8-sig")
    return len(rows), sum(1 for r in rows if r[9] == "failed")


def _observe(
    observer: Observer, connectors: list[Connector], since: Baseline | None = None
) -> Observations:
    """This month's observations, the connectors closed on the loop that opened them."""

    async def observe() -> Observations:
        try:
            return await observer.observe(None, datetime.now(UTC).date(), since)
        finally:
            for connector in connectors:
                await connector.dispose()

    return asyncio.run(observe())


def _evaluate(
    settings: HubSettings, store: AlertStore, after_import: bool = False
) -> dict[str, Any]:
    """One evaluation as `alerts.evaluation.evaluate` runs it: observed (after an import:
    only what changed since the last one), then recorded."""
    connectors = build_connectors(settings)
    started, cpu = time.perf_counter(), time.process_time()
    since = store.baseline() if after_import else None
    found = _observe(build_observer(settings, connectors), connectors, since)
    observed, observed_cpu = time.perf_counter(), time.process_time()
    done = store.record(found)
    scope = found.scope
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "observe_seconds": round(observed - started, 2),
        "observe_cpu_seconds": round(observed_cpu - cpu, 2),
        "record_seconds": round(time.perf_counter() - observed, 2),
        "events": done.events,
        "deliveries": done.deliveries,
        "work_orders": done.work_orders,
        "looked_at": {
            "projects": "every" if scope.projects is None else len(scope.projects),
            "residence": scope.gaps,
            "blacklist": scope.blacklist,
        },
        "load_average": machine()["load_average"],
    }


def _per_project(settings: HubSettings) -> dict[str, Any]:
    """The observation as every evaluation made it before the sweep: project by project."""
    connectors = build_connectors(settings)
    observer = Observer(loader_factories(connectors), build_cursors(settings), per_project=True)
    started, cpu = time.perf_counter(), time.process_time()
    _observe(observer, connectors)
    return {
        "observe_seconds": round(time.perf_counter() - started, 2),
        "observe_cpu_seconds": round(time.process_time() - cpu, 2),
        "load_average": machine()["load_average"],
    }


def _throughput(settings: HubSettings, store: AlertStore, deliveries: int) -> dict[str, Any]:
    """Deliveries of the events just raised to one local receiver, end to end."""
    receiver = Receiver()
    port = 18765
    server = receiver.serve(port)
    subscription = store.subscribe(
        "hr-bureau-xinmi",
        [Kind.WORKER_UNPAID, Kind.PROJECT_WARNING],
        f"http://127.0.0.1:{port}/hook",
        "supervision",
        region_prefix="4101",
    )
    from_epoch = store.replay(datetime(2000, 1, 1, tzinfo=UTC), subscription.id)
    receiver.expect(min(deliveries, from_epoch))

    def sent() -> int:
        return sum(1 for d in store.deliveries(subscription.id) if d.state != "pending")

    took = timed_dispatch(settings, store, receiver)
    server.should_exit = True
    return {
        "queued": from_epoch,
        "delivered": receiver.count,
        "seconds": round(took, 2),
        "per_second": round(receiver.count / took, 1),
        "finished": sent(),
    }


def run(
    backend: str,
    scale: str,
    failed: float,
    deliveries: int,
    baseline: bool = False,
    kept: Path | None = None,
) -> dict[str, Any]:
    measured_on = machine()  # the load average as the run starts
    directory = Path(tempfile.mkdtemp(prefix=f"bench-warnings-{backend}-"))
    server = os.environ.get("HUB_BENCH_POSTGRES_URL") or os.environ.get("HUB_TEST_POSTGRES_URL")
    databases = f"bench_warnings_{scale}"
    urls = fresh_postgres(server, databases) if backend == "postgres" and server else {}
    if backend == "postgres" and not server:
        raise SystemExit("PostgreSQL needs HUB_BENCH_POSTGRES_URL or HUB_TEST_POSTGRES_URL")
    settings = HubSettings(
        data_dir=directory,
        db_urls=urls,
        audit=AuditSettings(hash_key=SecretStr("bench-audit-hash-key-not-a-secret")),
        alerts=AlertSettings(poll_seconds=0.02, concurrency=16, per_receiver=8),
    )
    try:
        world = seeded_world(settings, scale, kept if backend == "sqlite" else None)
        store, seeded = world.alerts, world.seed_seconds
        for client, kinds, prefix in (
            ("hr-bureau-xinmi", [Kind.PROJECT_WARNING, Kind.WORKER_UNPAID], "4101"),
            ("police-xinmi", [Kind.RESIDENCE_GAP], "410183"),
            ("dashboard-zhengzhou", [Kind.PROJECT_WARNING], None),
        ):
            store.subscribe(client, kinds, "http://127.0.0.1:9/none", "x", region_prefix=prefix)
        first = _evaluate(settings, store)
        payroll = directory / "payroll.csv"
        rows, failed_rows = _latest_payroll(settings, failed, payroll)
        importer = Importer(build_connectors(settings))
        started = time.perf_counter()
        result = importer.run(
            "bank",
            "disbursements",
            payroll,
            ImportOptions(workers=1 if rows > 200_000 else 0),
            Sender(submitted_by="bench", client_id="bench"),
        )
        imported = time.perf_counter() - started
        assert result.applied, result.line()
        after = _evaluate(settings, store, after_import=True)
        again = _evaluate(settings, store, after_import=True)
        whole = _evaluate(settings, store)
        before = _per_project(settings) if baseline else None
        counts = store.counts()
        # the three subscriptions above point nowhere: leave their deliveries out
        for s in store.subscriptions():
            store.unsubscribe(s.id)
        delivery = _throughput(settings, store, deliveries)
        store.close()
        return {
            "backend": backend,
            "scale": scale,
            "machine": measured_on,
            "seed_seconds": round(seeded, 1),
            "payroll_rows": rows,
            "failed_rows": failed_rows,
            "import_seconds": round(imported, 2),
            "evaluate_first": first,
            "evaluate_import": after,
            "evaluate_again": again,
            "evaluate_whole": whole,
            "per_project_observe": before,
            "queue": counts,
            "delivery": delivery,
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if urls and server:
            drop_postgres(server, databases)


def _evaluation(label: str, run: dict[str, Any]) -> str:
    looked = run["looked_at"]
    rules = [name for name in ("residence", "blacklist") if looked[name]]
    return (
        f"- {label}: {run['seconds']} s ({run['cpu_seconds']} CPU s): observed in"
        f" {run['observe_seconds']} s ({run['observe_cpu_seconds']} CPU s), recorded in"
        f" {run['record_seconds']} s; {run['events']:,} events, {run['deliveries']:,}"
        f" deliveries, {run['work_orders']:,} work orders; looked at {looked['projects']}"
        f" projects{''.join(f', {r}' for r in rules)}; load average after"
        f" {', '.join(str(x) for x in run['load_average'])}"
    )


def _markdown(result: dict[str, Any]) -> str:
    after, whole = result["evaluate_import"], result["evaluate_whole"]
    delivery, machine_ = result["delivery"], result["machine"]
    lines = [
        f"# Warnings: {result['backend']}, scale {result['scale']}",
        "",
        f"{machine_['nproc']} cores ({machine_['cpu']}), shared; load average at the start"
        f" {', '.join(str(x) for x in machine_['load_average'])}. Seeded in"
        f" {result['seed_seconds']} s.",
        "",
        _evaluation(
            "first evaluation of the seeded world (empty state: every event raised at once)",
            result["evaluate_first"],
        ),
        f"- payroll re-imported: {result['payroll_rows']:,} rows, {result['failed_rows']:,}"
        f" failed, in {result['import_seconds']} s",
        _evaluation("**the payroll import's events** (evaluated after the import)", after),
        _evaluation("again after it (nothing changed)", result["evaluate_again"]),
        _evaluation(
            "a whole evaluation (what every evaluation was before; nothing new: the check)",
            whole,
        ),
        f"- the import's evaluation against a whole one, same run: {after['seconds']} s against"
        f" {whole['seconds']} s ({after['cpu_seconds']} against {whole['cpu_seconds']} CPU s)",
    ]
    before = result.get("per_project_observe")
    if before:
        lines.append(
            f"- the per-project observation (before the sweep), same run: "
            f"{before['observe_seconds']} s ({before['observe_cpu_seconds']} CPU s) = "
            f"{before['observe_cpu_seconds'] / max(whole['observe_cpu_seconds'], 0.01):.1f}×"
            f" the sweep's CPU; load average after"
            f" {', '.join(str(x) for x in before['load_average'])}"
        )
    lines += [
        f"- delivery to a local receiver: {delivery['delivered']:,} in {delivery['seconds']} s"
        f" = {delivery['per_second']}/s (built as the client, audited, signed, POSTed)",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--failed", type=float, default=0.05)
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--baseline", action="store_true", help="time the per-project path too")
    parser.add_argument(
        "--keep-world",
        type=Path,
        help="SQLite: a directory to seed the world into once and copy from on later runs",
    )
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    RESULTS.mkdir(exist_ok=True)
    for backend in backends:
        kept = args.keep_world / f"{backend}-{args.scale}" if args.keep_world else None
        result = run(backend, args.scale, args.failed, args.deliveries, args.baseline, kept)
        stem = RESULTS / f"warnings-{backend}-{args.scale}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        stem.with_suffix(".md").write_text(_markdown(result))
        print(_markdown(result))


if __name__ == "__main__":
    main()
