"""What the warnings benchmarks share (`bench.warnings_events`, `bench.webhook_queues`): a
seeded world, fresh PostgreSQL databases, a local webhook receiver that counts what it is
sent, and one dispatcher timed until the receiver has had what was queued."""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import psycopg
import uvicorn
from sqlalchemy.engine import make_url
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from alerts.dispatcher import Dispatcher
from alerts.store import AlertStore
from auth.store import AuthStore
from connectors.base import Connector
from hub import seeding
from hub.demo import register_demo_clients
from hub.provision import create_databases, postgres_urls
from hub.settings import HubSettings
from hub.warnings_cli import PayloadBuilder
from hub.wiring import (
    build_alert_store,
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_delivery_queue,
    migration_targets,
)
from storage import migrate


@dataclass
class World:
    """A hub's stores, migrated and seeded, with the demo clients registered."""

    auth: AuthStore
    connectors: list[Connector]
    alerts: AlertStore
    seed_seconds: float


SEEDED: Final = "seeded"
"""The file a kept world's directory holds once its seeding finished: its seconds."""


def seeded_world(settings: HubSettings, scale: str, kept: Path | None = None) -> World:
    """`kept` (SQLite only): a directory holding this scale's world seeded by an earlier
    run, copied into `settings.data_dir` instead of seeding again (a million workers take
    long to seed on a loaded machine); seeded there first when it holds none."""
    copied = kept is not None and (kept / SEEDED).exists()
    if kept is not None and copied:
        shutil.copytree(kept, settings.data_dir, dirs_exist_ok=True)
    auth = build_auth_store(settings)
    connectors = build_connectors(settings)
    store = build_alert_store(settings)
    migrate.upgrade(migration_targets(connectors, auth, build_audit_store(settings, auth), store))
    if kept is not None and copied:  # migrated: the code may be newer than the copy
        return World(auth, connectors, store, float((kept / SEEDED).read_text()))
    auth.ensure_signing_key()
    started = time.perf_counter()
    seeding.seed(connectors, scale, 42)
    seed_seconds = time.perf_counter() - started
    register_demo_clients(auth)
    if kept is not None:
        _keep(settings, connectors, kept, seed_seconds)
    return World(auth, connectors, store, seed_seconds)


def _keep(settings: HubSettings, connectors: list[Connector], kept: Path, seconds: float) -> None:
    """The seeded directory copied to `kept`, its databases' write-ahead logs folded in."""
    for connector in connectors:
        engine = connector.database.sync_engine()
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            engine.dispose()
    shutil.copytree(settings.data_dir, kept, dirs_exist_ok=True)
    (kept / SEEDED).write_text(f"{seconds:.1f}")


def fresh_postgres(server: str, prefix: str) -> dict[str, str]:
    """Every store's database `<prefix>_<store>`, dropped if left by an earlier run, and
    created empty."""
    drop_postgres(server, prefix)
    urls = postgres_urls(server, prefix)
    create_databases(urls)
    return urls


def drop_postgres(server: str, prefix: str) -> None:
    admin = make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        for url in postgres_urls(server, prefix).values():
            name = make_url(url).database
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 204 and says when `target` arrived."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.done = threading.Event()

    def expect(self, target: int) -> None:
        self.count, self.target = 0, target
        self.done.clear()

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            await request.body()
            self.count += 1
            if self.count >= self.target:
                self.done.set()
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])

    def serve(self, port: int) -> uvicorn.Server:
        server = uvicorn.Server(
            uvicorn.Config(self.app(), host="127.0.0.1", port=port, log_level="warning",
                           lifespan="off")
        )  # fmt: skip
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        return server


def timed_dispatch(settings: HubSettings, store: AlertStore, receiver: Receiver) -> float:
    """One dispatcher on the queue `settings` names, as `hub webhooks dispatch` builds it;
    seconds until the receiver has had its target (at most 600)."""
    connectors = build_connectors(settings)
    payloads = PayloadBuilder(settings, connectors)

    async def run() -> float:
        stop = asyncio.Event()
        queue = build_delivery_queue(settings, store)
        dispatcher = Dispatcher(store, payloads.builder, settings.alerts, queue=queue)
        started = time.perf_counter()
        task = asyncio.create_task(dispatcher.run(stop))
        delivered = await asyncio.to_thread(receiver.done.wait, 600)
        took = time.perf_counter() - started
        stop.set()
        await task
        await payloads.close()
        if not delivered:
            raise SystemExit(f"only {receiver.count} of {receiver.target} delivered in 600 s")
        return took

    return asyncio.run(run())
