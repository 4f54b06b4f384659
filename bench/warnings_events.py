"""Warnings at scale: a synthetic world seeded at a scale, then the bank's payroll for its
latest month imported again with a share of the transfers failed (as `hub import` does:
read, checked, upserted); then the warning rules evaluated and the events queued to three
subscriptions — timed from the import's end to the last delivery row committed, first
with an empty state (every event raised at once: the worst case) and again (nothing
changed). Then the delivery throughput to a local receiver: bodies built as the
subscribing client through the graph, audited, signed and POSTed, by one dispatcher.

    python -m bench.warnings_events [--scale small|medium|large] [--backend sqlite|postgres|both]
        [--failed 0.05] [--deliveries 2000]

Writes bench/results/warnings-<backend>-<scale>.{json,md}. PostgreSQL needs
HUB_BENCH_POSTGRES_URL (or HUB_TEST_POSTGRES_URL): databases `bench_warnings_<store>` are
created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.dispatcher import Dispatcher
from alerts.evaluation import evaluate
from alerts.kinds import Kind
from alerts.payloads import AsClient
from alerts.settings import AlertSettings
from alerts.store import AlertStore
from audit.extension import audit_extension
from audit.settings import AuditSettings
from bench.report import machine
from connectors.bank.models import Disbursement
from connectors.bank.tables import DISBURSEMENTS
from hub import seeding
from hub.demo import register_demo_clients
from hub.graph import hub_schema
from hub.importing import Importer, Sender
from hub.settings import HubSettings
from hub.wiring import (
    build_alert_store,
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_cursors,
    build_observer,
    build_subject_hasher,
    loader_factories,
    migration_targets,
)
from ingest.engine import ImportOptions
from ingest.writers import write_csv
from storage import migrate

RESULTS = Path(__file__).resolve().parent / "results"
STORES = ("housing", "hr", "public_security", "bank", "court", "auth", "audit", "alerts")


def _postgres_urls(server: str) -> dict[str, str]:
    base = make_url(server)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        for store in STORES:
            connection.execute(f'DROP DATABASE IF EXISTS "bench_warnings_{store}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "bench_warnings_{store}"')
    return {
        s: base.set(database=f"bench_warnings_{s}").render_as_string(hide_password=False)
        for s in STORES
    }


def _drop_postgres(server: str) -> None:
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        for store in STORES:
            connection.execute(f'DROP DATABASE IF EXISTS "bench_warnings_{store}" WITH (FORCE)')


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


async def _evaluate(settings: HubSettings, store: AlertStore) -> tuple[float, Any]:
    connectors = build_connectors(settings)
    started = time.perf_counter()
    try:
        done = await evaluate(build_observer(settings, connectors), store)
    finally:
        for connector in connectors:
            await connector.dispose()
    return time.perf_counter() - started, done


class _Receiver:
    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = threading.Event()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            await request.body()
            self.count += 1
            if self.count >= self.target:
                self.done.set()
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def _serve(app: Starlette, port: int) -> uvicorn.Server:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)
    return server


def _throughput(settings: HubSettings, store: AlertStore, deliveries: int) -> dict[str, Any]:
    """Deliveries of the events just raised to one local receiver, end to end."""
    receiver = _Receiver()
    port = 18765
    server = _serve(receiver.app(), port)
    subscription = store.subscribe(
        "hr-bureau-xinmi",
        [Kind.WORKER_UNPAID, Kind.PROJECT_WARNING],
        f"http://127.0.0.1:{port}/hook",
        "supervision",
        region_prefix="4101",
    )
    from_epoch = store.replay(datetime(2000, 1, 1, tzinfo=UTC), subscription.id)
    auth = build_auth_store(settings)
    audit = build_audit_store(settings, auth)
    hasher = build_subject_hasher(settings)
    connectors = build_connectors(settings)
    builder = AsClient(
        hub_schema([audit_extension(hasher)]),
        loader_factories(connectors),
        build_cursors(settings),
        auth.get_client,
        audit,
        hasher,
    )
    receiver.target = min(deliveries, from_epoch)

    def sent() -> int:
        return sum(1 for d in store.deliveries(subscription.id) if d.state != "pending")

    async def run() -> float:
        stop = asyncio.Event()
        dispatcher = Dispatcher(store, builder, settings.alerts)
        started = time.perf_counter()
        task = asyncio.create_task(dispatcher.run(stop))
        await asyncio.to_thread(receiver.done.wait, 600)
        took = time.perf_counter() - started
        stop.set()
        await task
        await audit.close()
        for connector in connectors:
            await connector.dispose()
        return took

    took = asyncio.run(run())
    server.should_exit = True
    return {
        "queued": from_epoch,
        "delivered": receiver.count,
        "seconds": round(took, 2),
        "per_second": round(receiver.count / took, 1),
        "finished": sent(),
    }


def run(backend: str, scale: str, failed: float, deliveries: int) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-warnings-{backend}-"))
    server = os.environ.get("HUB_BENCH_POSTGRES_URL") or os.environ.get("HUB_TEST_POSTGRES_URL")
    urls = _postgres_urls(server) if backend == "postgres" and server else {}
    if backend == "postgres" and not server:
        raise SystemExit("PostgreSQL needs HUB_BENCH_POSTGRES_URL or HUB_TEST_POSTGRES_URL")
    settings = HubSettings(
        data_dir=directory,
        db_urls=urls,
        audit=AuditSettings(hash_key=SecretStr("bench-audit-hash-key-not-a-secret")),
        alerts=AlertSettings(poll_seconds=0.02, concurrency=16, per_receiver=8),
    )
    try:
        auth = build_auth_store(settings)
        connectors = build_connectors(settings)
        store = build_alert_store(settings)
        migrate.upgrade(
            migration_targets(connectors, auth, build_audit_store(settings, auth), store)
        )
        auth.ensure_signing_key()
        started = time.perf_counter()
        seeding.seed(connectors, scale, 42)
        seeded = time.perf_counter() - started
        register_demo_clients(auth)
        for client, kinds, prefix in (
            ("hr-bureau-xinmi", [Kind.PROJECT_WARNING, Kind.WORKER_UNPAID], "4101"),
            ("police-xinmi", [Kind.RESIDENCE_GAP], "410183"),
            ("dashboard-zhengzhou", [Kind.PROJECT_WARNING], None),
        ):
            store.subscribe(client, kinds, "http://127.0.0.1:9/none", "x", region_prefix=prefix)
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
        first_seconds, first = asyncio.run(_evaluate(settings, store))
        again_seconds, again = asyncio.run(_evaluate(settings, store))
        counts = store.counts()
        # the three subscriptions above point nowhere: leave their deliveries out
        for s in store.subscriptions():
            store.unsubscribe(s.id)
        delivery = _throughput(settings, store, deliveries)
        store.close()
        return {
            "backend": backend,
            "scale": scale,
            "machine": machine(),
            "seed_seconds": round(seeded, 1),
            "payroll_rows": rows,
            "failed_rows": failed_rows,
            "import_seconds": round(imported, 2),
            "evaluate_first": {
                "seconds": round(first_seconds, 2),
                "events": first.events,
                "deliveries": first.deliveries,
                "work_orders": first.work_orders,
            },
            "evaluate_again": {"seconds": round(again_seconds, 2), "events": again.events},
            "queue": counts,
            "delivery": delivery,
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)
        if urls and server:
            _drop_postgres(server)


def _markdown(result: dict[str, Any]) -> str:
    first, again, delivery = result["evaluate_first"], result["evaluate_again"], result["delivery"]
    return "\n".join(
        [
            f"# Warnings: {result['backend']}, scale {result['scale']}",
            "",
            f"- payroll re-imported: {result['payroll_rows']:,} rows, {result['failed_rows']:,}"
            f" failed, in {result['import_seconds']} s",
            f"- first evaluation (empty state): {first['seconds']} s, {first['events']:,} events,"
            f" {first['deliveries']:,} deliveries, {first['work_orders']:,} work orders",
            f"- again (nothing changed): {again['seconds']} s, {again['events']} events",
            f"- delivery to a local receiver: {delivery['delivered']:,} in {delivery['seconds']} s"
            f" = {delivery['per_second']}/s (built as the client, audited, signed, POSTed)",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="small")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--failed", type=float, default=0.05)
    parser.add_argument("--deliveries", type=int, default=2000)
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    RESULTS.mkdir(exist_ok=True)
    for backend in backends:
        result = run(backend, args.scale, args.failed, args.deliveries)
        stem = RESULTS / f"warnings-{backend}-{args.scale}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        stem.with_suffix(".md").write_text(_markdown(result))
        print(_markdown(result))


if __name__ == "__main__":
    main()
