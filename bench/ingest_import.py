"""One month of payroll for a million workers, imported end to end as `hub import` does it:
the bank's GB18030 CSV read and checked in a parsing worker process while this
process stages the rows, every reference checked (the special account within the bank; the
worker and project against housing, which knows them), the batch applied in one
transaction, the audit log's write records written before the commit. Beside it, in the
same run, the floor: the same rows inserted straight into the empty table (executemany on
SQLite, COPY on PostgreSQL) with no reading, checking, staging or audit.

    python -m bench.ingest_import [--rows 1000000] [--backend sqlite|postgres|both]

Writes bench/results/ingest-<backend>-<rows>.{json,md}. PostgreSQL needs
HUB_BENCH_POSTGRES_URL (or HUB_TEST_POSTGRES_URL): databases `bench_ingest_<store>` are
created and dropped. Peak memory is each process's maximum RSS: the importing process's
own (the stores are set up and the file written in another process, so their heap is not
counted), and the parsing worker's.
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
from pydantic import SecretStr
from sqlalchemy import Table, delete
from sqlalchemy.engine import make_url

from audit.settings import AuditSettings
from bench.report import machine, write_result
from connectors.bank.models import Disbursement, WageAccount
from connectors.bank.tables import DISBURSEMENTS
from connectors.housing.models import Project, Worker
from hub.importing import Importer, Sender, run_closing
from hub.settings import HubSettings
from hub.wiring import (
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_subject_hasher,
    migration_targets,
)
from ingest.engine import ImportOptions
from ingest.parsing import peak_mib, preparer
from ingest.staging import SQLITE_CACHE_KIB
from ingest.validate import TypedRow
from ingest.writers import write_csv
from kernel.identifiers import make_id_number, make_uscc
from kernel.regions import ORIGIN_COUNTIES
from storage import migrate
from storage.database import Database

SELF, CHILDREN = resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN
PROJECTS = 1_000
MONTH = datetime.date(2026, 9, 1)
STORES = ("housing", "hr", "public_security", "bank", "court", "auth", "audit")


def _worker(i: int) -> str:
    region = ORIGIN_COUNTIES[i % len(ORIGIN_COUNTIES)].code
    born = datetime.date(1960, 1, 1) + datetime.timedelta(days=i // 500)
    return make_id_number(region, born, i % 500 * 2 + 1)


def _project(p: int) -> str:
    return f"4101832025{p:08d}"


def _account(p: int) -> str:
    return f"41410183{p:012d}"


def payroll(count: int) -> Iterator[TypedRow]:
    """One month of payroll: worker i on project i mod 1000, paid by its special account."""
    for i in range(count):
        p = i % PROJECTS
        due = 300_000 + (i * 7919) % 900_000
        yield (
            _account(p), _project(p), "张三丰" if i % 2 else "李四", _worker(i),
            f"6217{i:015d}", MONTH, datetime.date(2026, 10, 10), due, due - (i % 100) * 100,
            "paid" if i % 20 else "failed", 22, False, None, f"TX{i:012d}",
        )  # fmt: skip


def _insert(database: Database, table: Table, rows: Iterator[dict[str, Any]]) -> None:
    """Set-up rows, straight through the driver (no part of what is measured)."""
    engine = database.sync_engine()
    raw = engine.raw_connection()
    mark = "?" if database.is_sqlite else "%s"
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        batch: list[tuple[Any, ...]] = []
        names: list[str] = []
        for row in rows:
            names = names or list(row)
            batch.append(tuple(row.values()))
            if len(batch) >= 10_000:
                _flush(cursor, table, names, mark, batch)
        _flush(cursor, table, names, mark, batch)
        raw.commit()
    finally:
        raw.close()
        engine.dispose()


def _flush(cursor: Any, table: Table, names: list[str], mark: str, batch: list[Any]) -> None:
    if batch:
        cursor.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)})"
            f" VALUES ({', '.join([mark] * len(names))})",
            batch,
        )
        batch.clear()


def _set_up(settings: HubSettings, count: int) -> dict[str, Database]:
    """Migrated stores; housing knows every worker and project, the bank every account."""
    auth = build_auth_store(settings)
    connectors = build_connectors(settings)
    migrate.upgrade(migration_targets(connectors, auth, build_audit_store(settings, auth)))
    auth.ensure_signing_key()
    databases = {c.name: c.database for c in connectors}
    builder = make_uscc("410183", 1)
    contractor = make_uscc("410183", 2)
    _insert(
        databases["housing"],
        Project.__table__,  # type: ignore[attr-defined]
        (
            {
                "code": _project(p),
                "name": f"项目{p}",
                "region_code": "410183",
                "builder_uscc": builder,
                "contractor_uscc": contractor,
                "contract_price_fen": 10**10,
                "start_date": datetime.date(2025, 1, 1),
                "planned_end_date": datetime.date(2027, 1, 1),
                "status": "under_construction",
                "rights_notice_board": True,
                "payment_guarantee": True,
            }
            for p in range(PROJECTS)
        ),
    )
    _insert(
        databases["housing"],
        Worker.__table__,  # type: ignore[attr-defined]
        (
            {"id_number": _worker(i), "name": "张三", "registered_on": datetime.date(2025, 1, 1)}
            for i in range(count)
        ),
    )
    _insert(
        databases["bank"],
        WageAccount.__table__,  # type: ignore[attr-defined]
        (
            {
                "account_no": _account(p),
                "bank_name": "中国建设银行",
                "project_code": _project(p),
                "holder_uscc": contractor,
                "opened_on": datetime.date(2025, 1, 1),
                "status": "active",
            }
            for p in range(PROJECTS)
        ),
    )
    return databases


def _prepare(settings: HubSettings, count: int, path: Path) -> None:
    """The stores set up and the payroll file written (once for both backends)."""
    _set_up(settings, count)
    if not path.exists():
        with path.open("wb") as out:
            write_csv(out, DISBURSEMENTS.spec, payroll(count), "gb18030")


def _reset_peak() -> None:
    """Start this process's peak-memory count afresh (Linux: clear_refs 5)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _empty(database: Database) -> None:
    table = Disbursement.__table__  # type: ignore[attr-defined]
    engine = database.sync_engine()
    try:
        with engine.begin() as connection:
            connection.execute(delete(table))
    finally:
        engine.dispose()


def _floor(database: Database, count: int) -> tuple[float, float]:
    """Seconds and this process's CPU seconds to insert the same rows, as stored, into the
    emptied table: the database's own bulk path, nothing else (rows prepared outside the
    clock). On SQLite with the page cache the import's apply has: with SQLite's default
    (2 MiB) the indexes' pages were read and written again and again, and the floor took
    longer than the import's own apply."""
    _empty(database)
    backend = "sqlite" if database.is_sqlite else "postgresql"
    to_db, prepare = DISBURSEMENTS.db_row(), preparer(DISBURSEMENTS, backend)
    names = list(DISBURSEMENTS.written)
    engine = database.sync_engine()
    raw = engine.raw_connection()
    driver: Any = raw.driver_connection
    spent = cpu = 0.0
    if database.is_sqlite:
        driver.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    try:
        rows = payroll(count)
        while True:
            batch = [
                tuple(prepare(to_db(row))) for _, row in zip(range(10_000), rows, strict=False)
            ]
            if not batch:
                break
            started, cpu_started = time.perf_counter(), time.process_time()
            if database.is_sqlite:
                driver.executemany(
                    f"INSERT INTO bank_disbursement ({', '.join(names)})"
                    f" VALUES ({', '.join('?' * len(names))})",
                    batch,
                )
            else:
                with (
                    driver.cursor() as cursor,
                    cursor.copy(f"COPY bank_disbursement ({', '.join(names)}) FROM STDIN") as copy,
                ):
                    for row in batch:
                        copy.write_row(row)
            spent += time.perf_counter() - started
            cpu += time.process_time() - cpu_started
        started, cpu_started = time.perf_counter(), time.process_time()
        driver.commit()
        spent += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
    finally:
        raw.close()
        engine.dispose()
    return spent, cpu


def run(backend: str, count: int, work: Path) -> dict[str, Any]:
    urls: dict[str, str] = {}
    admin = os.environ.get("HUB_BENCH_POSTGRES_URL") or os.environ.get("HUB_TEST_POSTGRES_URL")
    if backend == "postgres":
        if not admin:
            raise SystemExit("PostgreSQL: set HUB_BENCH_POSTGRES_URL")
        server = make_url(admin)
        with psycopg.connect(
            server.set(drivername="postgresql").render_as_string(False), autocommit=True
        ) as c:
            for store in STORES:
                c.execute(f'DROP DATABASE IF EXISTS "bench_ingest_{store}" WITH (FORCE)')
                c.execute(f'CREATE DATABASE "bench_ingest_{store}"')
                urls[store] = server.set(database=f"bench_ingest_{store}").render_as_string(False)
    load = round(os.getloadavg()[0], 1)
    settings = HubSettings(
        data_dir=work / backend, db_urls=urls, audit=AuditSettings(hash_key=SecretStr("b" * 32))
    )
    try:
        path = work / "payroll.csv"
        # in a process of its own, so the heap it grows is not counted as the importer's
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pool.submit(_prepare, settings, count, path).result()
        databases = {c.name: c.database for c in build_connectors(settings)}
        auth = build_auth_store(settings)
        audit = build_audit_store(settings, auth)
        audited = Importer(build_connectors(settings), audit, build_subject_hasher(settings))
        unaudited = Importer(build_connectors(settings))
        sender = Sender(submitted_by="bench", client_id="bench")
        runs = {}
        for name, importer in (("first", audited), ("again", audited), ("no audit", unaudited)):
            if name == "no audit":
                _empty(databases["bank"])
            _reset_peak()
            started, cpu, children = time.perf_counter(), _cpu(SELF), _cpu(CHILDREN)
            result = importer.run(
                "bank", "disbursements", path, ImportOptions(workers=1), sender,
                run_closing(audit, auth.database),
            )  # fmt: skip
            seconds = time.perf_counter() - started
            assert result.applied, result.line()
            runs[name] = {
                "seconds": round(seconds, 2),
                "rows_per_second": round(count / seconds),
                "importer_cpu_seconds": round(_cpu(SELF) - cpu, 2),
                "parser_cpu_seconds": round(_cpu(CHILDREN) - children, 2),
                "phases": {k: round(v, 2) for k, v in result.report.seconds.items()},
                "phases_cpu": {k: round(v, 2) for k, v in result.report.cpu_seconds.items()},
                "peak_mib": {
                    "importer": round(peak_mib()),
                    "parser": round(result.report.peak_mib.get("parser", 0)),
                },
                "line": result.line(),
            }
            result.report.close()
        floor, floor_cpu = _floor(databases["bank"], count)
        return {
            "backend": backend,
            "rows": count,
            "load": load,
            "file_mib": round(path.stat().st_size / 2**20, 1),
            "import": runs,
            "floor_seconds": round(floor, 2),
            "floor_rows_per_second": round(count / floor),
            "floor_cpu_seconds": round(floor_cpu, 2),
        }
    finally:
        if admin and urls:
            server = make_url(admin)
            with psycopg.connect(
                server.set(drivername="postgresql").render_as_string(False), autocommit=True
            ) as c:
                for store in STORES:
                    c.execute(f'DROP DATABASE IF EXISTS "bench_ingest_{store}" WITH (FORCE)')


def markdown(result: dict[str, Any]) -> str:
    where = machine()
    runs = result["import"]
    lines = [
        f"### import of {result['rows']:,} payroll rows, {result['backend']}",
        "",
        f"{where['nproc']} cores ({where['cpu']}), {where['ram_gib']} GiB, Python"
        f" {where['python']}; load average at the start {result['load']}."
        f" File: {result['file_mib']} MiB GB18030 CSV.",
        "",
        "| run | seconds | rows/s end to end | CPU s importer + parser | peak MiB importer +"
        " parser | phases (s) | importer CPU s by phase |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    labels = {
        "first": "import, new rows",
        "again": "the same file again (nothing changes)",
        "no audit": "import, new rows, audit log off",
    }
    for name, run in runs.items():
        phases = ", ".join(f"{k} {v}" for k, v in run["phases"].items())
        cpu = ", ".join(f"{k} {v}" for k, v in run.get("phases_cpu", {}).items() if k != "read")
        lines.append(
            f"| {labels[name]} | {run['seconds']} | {run['rows_per_second']:,} |"
            f" {run['importer_cpu_seconds']} + {run['parser_cpu_seconds']} |"
            f" {run['peak_mib']['importer']} + {run['peak_mib']['parser']} | {phases} | {cpu} |"
        )
    lines += [
        f"| floor: the same rows inserted raw | {result['floor_seconds']} |"
        f" {result['floor_rows_per_second']:,} | {result.get('floor_cpu_seconds', '')} | | | |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_import")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        for backend in backends:
            result = run(backend, args.rows, work)
            write_result(f"ingest-{backend}-{args.rows}", result, markdown(result))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
