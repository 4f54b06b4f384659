"""SQL statements per request, counted as sent to the driver (`Database.listeners`),
and the rows those statements returned, in a separate in-process run of the same app
over the same data set: the served process cannot be instrumented from outside, and
counting must not slow the timed runs.

Besides the count per workload, each is checked against the number of list items the
answer shows: the count must not grow with it (no N+1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from audit.settings import AuditSettings
from bench.dataset import (
    AUDIT_HASH_KEY,
    AUDIT_ORIGIN,
    BENCH_CLIENT,
    BENCH_PURPOSE,
    Dataset,
    targets,
)
from bench.server import RATE_LIMITS
from bench.workloads import Call, dashboard_call, summary_call
from hub.app import create_app
from hub.settings import HubSettings, TokenSettings
from storage.database import Database

SAMPLED = 20
PAGE_SIZES = (5, 20, 100)


def shown(value: Any) -> int:
    """List items in an answer: the rows a request shows."""
    if isinstance(value, list):
        return len(value) + sum(shown(item) for item in value)
    if isinstance(value, dict):
        return sum(shown(item) for item in value.values())
    return 0


async def count(
    dataset: Dataset, secret: str, calls: dict[str, list[Call]], region: str, last_month: str
) -> dict[str, Any]:
    """Per workload: statements per request (min, max, by agency) against rows shown, and the
    dashboard page at growing page sizes."""
    dataset.provision_keys()
    settings = HubSettings(
        env="production",
        audit=AuditSettings(
            hash_key=SecretStr(AUDIT_HASH_KEY),
            origin=AUDIT_ORIGIN,
            checkpoint_key_file=dataset.checkpoint_key_file,
        ),
        token=TokenSettings(kek_file=dataset.kek_file),
        data_dir=dataset.directory,
        db_urls={t: dataset.database_url(t) for t in targets()},
        rate_limits=RATE_LIMITS,
    )
    app = create_app(settings)
    counts: Counter[str] = Counter()
    rows_read: Counter[str] = Counter()
    engines = [*app.state.connectors, app.state.auth_store, app.state.facts_store]
    for target in engines:

        def tally(_sql: str, name: str = target.name) -> None:
            counts[name] += 1

        target.database.listeners.append(tally)
        _count_rows(target.database, target.name, rows_read)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        token = (
            await client.post(
                "/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(BENCH_CLIENT, secret),
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-Purpose": BENCH_PURPOSE}

        async def measure(call: Call) -> tuple[int, int, dict[str, int], int]:
            await client.post(
                "/graphql",
                json={"query": call.document, "variables": call.variables},
                headers=headers,
            )  # warms per-process caches (token verification) out of the count
            counts.clear()
            rows_read.clear()
            response = await client.post(
                "/graphql",
                json={"query": call.document, "variables": call.variables},
                headers=headers,
            )
            body = response.json()
            if body.get("errors"):
                raise RuntimeError(f"{call.workload} failed: {body['errors']}")
            agencies = {k: v for k, v in counts.items() if k != "auth"}
            read = sum(v for k, v in rows_read.items() if k != "auth")
            return sum(agencies.values()), shown(body["data"]), agencies, read

        report: dict[str, Any] = {}
        for name, sampled in calls.items():
            report[name] = _summary([await measure(c) for c in sampled[:SAMPLED]])
        report["dashboard_page_sizes"] = {
            size: (await measure(dashboard_call(region, last_month, size)))[:2]
            for size in PAGE_SIZES
        }
        statements, shown_rows, _, read = await measure(summary_call(region[:2], last_month))
        report["summary_province"] = {
            "statements": statements,
            "rows_shown": shown_rows,
            "rows_read": read,
        }
    for target in [*engines, app.state.audit_store]:
        await target.database.dispose()
    return report


def _count_rows(database: Database, name: str, rows_read: Counter[str]) -> None:
    """The rows each read returns, tallied by database (wrapping this app's instance)."""
    fetch = database.fetch

    async def counted(*args: Any, **kwargs: Any) -> Sequence[Any]:
        rows = await fetch(*args, **kwargs)
        rows_read[name] += len(rows)
        return rows

    database.fetch = counted  # type: ignore[method-assign]


def _summary(measured: Sequence[tuple[int, int, dict[str, int], int]]) -> dict[str, Any]:
    statements = [m[0] for m in measured]
    rows = [m[1] for m in measured]
    read = [m[3] for m in measured]
    by_agency: Counter[str] = Counter()
    for _, _, agencies, _ in measured:
        by_agency.update(agencies)
    return {
        "statements_min": min(statements),
        "statements_max": max(statements),
        "rows_min": min(rows),
        "rows_max": max(rows),
        "rows_read_min": min(read),
        "rows_read_max": max(read),
        "by_agency_mean": {k: round(v / len(measured), 1) for k, v in sorted(by_agency.items())},
    }
