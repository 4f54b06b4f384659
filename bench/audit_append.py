"""`python -m bench.audit_append`: what appending one audit record costs, on the request
path, through the real writer on a fresh SQLite file and PostgreSQL database.

Two figures per backend: the latency of one record appended alone (each waits for its
commit before the next is sent: the cost a lone request pays) and the throughput of
many appended at once (group commit: what a loaded hub pays per record).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from audit.store import Entry
from bench.dataset import POSTGRES_SERVER
from hub.settings import HubSettings
from hub.wiring import build_audit_store, build_auth_store
from storage import migrate

DATABASE = "bench_audit_append"


def _entry(number: int) -> Entry:
    entities = [("Project", f"P{number:04d}"), ("Worker", f"hmac:{number:064x}")]
    content = {
        "v": 1,
        "at": datetime.now(UTC).isoformat(),
        "request_id": f"{number:032x}",
        "endpoint": "/graphql",
        "client_id": "police-xinmi",
        "agency": "public_security",
        "purpose": "residence-management",
        "purpose_reference": None,
        "operations": [],
        "fields": ["Worker.name", "Worker.residences"],
        "scopes": ["worker:residence"],
        "masked": [],
        "denied": [],
        "entities": [list(e) for e in entities],
        "outcome": "ok",
        "codes": [],
        "status": 200,
        "response_bytes": 100,
        "latency_ms": 1.0,
    }
    return Entry(content, entities)


def _settings(backend: str, directory: Path) -> HubSettings:
    if backend == "sqlite":
        return HubSettings(data_dir=directory)
    urls = {}
    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as admin:
        for target in ("auth", "audit"):
            name = f"{DATABASE}_{target}"
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}"')
            urls[target] = f"{POSTGRES_SERVER}/{name}"
    return HubSettings(data_dir=directory, db_urls=urls)


async def _measure(settings: HubSettings, alone: int, together: int) -> dict[str, Any]:
    auth = build_auth_store(settings)
    store = build_audit_store(settings, auth)
    try:
        for number in range(20):  # warm: connections, compiled statements
            await store.append(_entry(number))
        times = []
        for number in range(alone):
            started = time.perf_counter()
            await store.append(_entry(number))
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        await asyncio.gather(*(store.append(_entry(n)) for n in range(together)))
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
        await auth.database.dispose()
    times.sort()
    return {
        "alone_median_us": round(statistics.median(times) * 1e6),
        "alone_p90_us": round(times[int(len(times) * 0.9)] * 1e6),
        "together_records_per_s": round(together / elapsed),
        "together_us_per_record": round(elapsed / together * 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], action="append")
    parser.add_argument("--alone", type=int, default=500)
    parser.add_argument("--together", type=int, default=5000)
    args = parser.parse_args()
    for backend in args.backend or ["sqlite", "postgres"]:
        with tempfile.TemporaryDirectory() as directory:
            settings = _settings(backend, Path(directory))
            auth = build_auth_store(settings)
            store = build_audit_store(settings, auth)
            migrate.upgrade([auth, store])
            auth.ensure_signing_key()
            result = asyncio.run(_measure(settings, args.alone, args.together))
        print(backend, result, flush=True)


if __name__ == "__main__":
    main()
