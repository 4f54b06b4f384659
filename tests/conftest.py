"""Shared fixtures: a migrated, seeded hub per backend (SQLite always; PostgreSQL when
HUB_TEST_POSTGRES_URL is set), served by a real uvicorn on a free port."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import make_url

from connectors.base import Connector, discover
from hub import migrate, seeding
from hub.app import create_app
from hub.settings import HubSettings

POSTGRES_URL = os.environ.get("HUB_TEST_POSTGRES_URL")
REQUIRE_POSTGRES = os.environ.get("HUB_TEST_REQUIRE_POSTGRES") == "1"
SEED = 42


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_urls(prefix: str) -> dict[str, str]:
    """A fresh PostgreSQL database per agency, named `<prefix>_<agency>`."""
    assert POSTGRES_URL
    admin = make_url(POSTGRES_URL)
    urls = {}
    with psycopg.connect(
        admin.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True
    ) as connection:
        for connector in discover():
            name = f"{prefix}_{connector.name}"
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{name}"')
            urls[connector.name] = admin.set(database=name).render_as_string(hide_password=False)
    return urls


def backend_settings(backend: str, tmp: Path, prefix: str) -> HubSettings:
    if backend == "postgres":
        if not POSTGRES_URL:
            if REQUIRE_POSTGRES:
                pytest.fail("HUB_TEST_REQUIRE_POSTGRES=1 but HUB_TEST_POSTGRES_URL is not set")
            pytest.skip(
                "PostgreSQL tests need HUB_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1:5432/test)"
            )
        return HubSettings(data_dir=tmp, db_urls=postgres_urls(prefix))
    return HubSettings(data_dir=tmp)


@dataclass
class StatementCounter:
    """SQL statements sent to each agency's database, counted at the driver."""

    counts: Counter[str] = field(default_factory=Counter)

    def attach(self, connectors: list[Connector]) -> None:
        for connector in connectors:
            name = connector.name

            def count(*_: Any, name: str = name) -> None:
                self.counts[name] += 1

            event.listen(connector.database.engine.sync_engine, "before_cursor_execute", count)

    def reset(self) -> None:
        self.counts.clear()


@dataclass
class RunningHub:
    backend: str
    url: str
    connectors: list[Connector]
    statements: StatementCounter
    client: httpx.Client

    def query(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.client.post(
            "/graphql", json={"query": document, "variables": variables or {}}
        )
        assert response.status_code == 200, response.text
        return response.json()

    def data(self, document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = self.query(document, variables)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def hub(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningHub]:
    backend = request.param
    settings = backend_settings(backend, tmp_path_factory.mktemp(backend), "hub_test")
    app = create_app(settings)
    connectors = app.state.connectors
    migrate.upgrade(connectors)
    seeding.seed(connectors, "demo", SEED)

    statements = StatementCounter()
    statements.attach(connectors)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=30) as client:
        yield RunningHub(backend, base, connectors, statements, client)
    server.should_exit = True
    thread.join(timeout=10)
