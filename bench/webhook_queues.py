"""Webhook delivery throughput on each queue: the database's table and the Redis Stream,
measured in the same run on the same deliveries, so the ratio says what the queue costs
(the rest — the body built as the client through the graph, its audit record, the
signature, the POST — is the same on both).

The demo world is seeded, its events raised, and `--subscriptions` subscriptions of the
HR bureau (its city's events) point at one local receiver. After a warm-up round, each
round replays every delivery (same ids, fresh attempts, bodies built again) and times
one dispatcher from start to the last delivery received; rounds alternate between the
queues (database, Redis, database, …).

    python -m bench.webhook_queues [--backend sqlite|postgres|both] [--subscriptions 20]
        [--rounds 2]

Needs Redis at HUB_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0; the stream key is
`bench:webhook-queues`, deleted after), and for PostgreSQL HUB_BENCH_POSTGRES_URL (or
HUB_TEST_POSTGRES_URL): databases `bench_queues_<store>` are created and dropped.
Writes bench/results/webhook-queues-<backend>.{json,md}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from pydantic import SecretStr
from sqlalchemy import update

from alerts.evaluation import evaluate
from alerts.kinds import Kind
from alerts.settings import AlertSettings
from alerts.store import delivery_t
from audit.settings import AuditSettings
from bench.deliveries import (
    Receiver,
    drop_postgres,
    fresh_postgres,
    seeded_world,
    timed_dispatch,
)
from bench.report import RESULTS, machine
from hub.settings import HubSettings
from hub.wiring import (
    build_observer,
)

PREFIX = "bench_queues"
STREAM = "bench:webhook-queues"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


def run(backend: str, subscriptions: int, rounds: int, redis_url: str) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=f"bench-queues-{backend}-"))
    server = os.environ.get("HUB_BENCH_POSTGRES_URL") or os.environ.get("HUB_TEST_POSTGRES_URL")
    if backend == "postgres" and not server:
        raise SystemExit("PostgreSQL needs HUB_BENCH_POSTGRES_URL or HUB_TEST_POSTGRES_URL")
    urls = fresh_postgres(server, PREFIX) if backend == "postgres" and server else {}
    settings = HubSettings(
        data_dir=directory,
        db_urls=urls,
        audit=AuditSettings(hash_key=SecretStr("bench-audit-hash-key-not-a-secret")),
        alerts=AlertSettings(poll_seconds=0.02, concurrency=16, per_receiver=8, stream_key=STREAM),
    )
    started = machine()
    receiver = Receiver()
    http = receiver.serve(18766)
    try:
        world = seeded_world(settings, "demo")
        connectors, store = world.connectors, world.alerts

        async def raise_events() -> None:
            await evaluate(build_observer(settings, connectors), store)
            for connector in connectors:
                await connector.dispose()

        asyncio.run(raise_events())
        made = [
            store.subscribe(
                "hr-bureau-xinmi",
                [Kind.PROJECT_WARNING, Kind.WORKER_UNPAID, Kind.COMPLAINT_ON_RED_PROJECT],
                "http://127.0.0.1:18766/hook",
                "supervision",
                region_prefix="4101",
            )
            for _ in range(subscriptions)
        ]
        timings: dict[str, list[float]] = {"database": [], "redis": []}
        queued = sum(store.replay(EPOCH, s.id) for s in made)
        receiver.expect(queued)
        timed_dispatch(settings, store, receiver)  # warm-up (caches, files), not counted
        for _ in range(rounds):
            for queue, url in (("database", None), ("redis", redis_url)):
                queued = sum(store.replay(EPOCH, s.id) for s in made)
                with store.engine.begin() as connection:  # built again, as the first time
                    connection.execute(update(delivery_t).values(body=None))
                timed = settings.model_copy(update={"redis_url": url})
                receiver.expect(queued)
                timings[queue].append(timed_dispatch(timed, store, receiver))
        store.close()
        per_second = {q: round(queued / statistics.median(t), 1) for q, t in timings.items()}
        return {
            "backend": backend,
            "machine": started,
            "deliveries_per_round": queued,
            "seconds": {q: [round(x, 2) for x in t] for q, t in timings.items()},
            "per_second": per_second,
            "redis_over_database": round(per_second["redis"] / per_second["database"], 2),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        http.should_exit = True
        shutil.rmtree(directory, ignore_errors=True)
        with redis.Redis.from_url(redis_url) as client:
            client.delete(STREAM, f"{STREAM}:relay")
        if urls and server:
            drop_postgres(server, PREFIX)


def _markdown(result: dict[str, Any]) -> str:
    machine_ = result["machine"]
    seconds = result["seconds"]
    return "\n".join(
        [
            f"# Webhook delivery per queue: {result['backend']}",
            "",
            f"{machine_['nproc']} cores ({machine_['cpu']}), shared; load average at the start"
            f" {', '.join(str(x) for x in machine_['load_average'])}, after"
            f" {', '.join(str(x) for x in result['load_average_after'])}.",
            "",
            f"{result['deliveries_per_round']:,} deliveries a round (bodies built as the client,"
            " audited, signed, POSTed to one local receiver), one dispatcher, rounds alternating:",
            "",
            "| queue | seconds per round | deliveries per second (median) |",
            "|---|---|---|",
            f"| database table | {', '.join(map(str, seconds['database']))} |"
            f" {result['per_second']['database']} |",
            f"| Redis Stream | {', '.join(map(str, seconds['redis']))} |"
            f" {result['per_second']['redis']} |",
            "",
            f"Redis ÷ database: **{result['redis_over_database']}×**.",
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    redis_url = os.environ.get("HUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    RESULTS.mkdir(exist_ok=True)
    for backend in backends:
        result = run(backend, args.subscriptions, args.rounds, redis_url)
        stem = RESULTS / f"webhook-queues-{backend}"
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        stem.with_suffix(".md").write_text(_markdown(result))
        print(_markdown(result))


if __name__ == "__main__":
    main()
