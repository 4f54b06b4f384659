"""Liveness, readiness (every connector's database and the auth store's), GraphiQL."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette

from conftest import RunningHub
from connectors import discover
from hub.app import create_app
from hub.settings import HubSettings
from storage import migrate


def _readyz(app: Starlette) -> httpx.Response:
    """Readiness of an app that is not being served (no lifespan needed for the check)."""

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
                return await client.get("/readyz")
        finally:
            for connector in app.state.connectors:
                await connector.dispose()
            await app.state.auth_store.database.dispose()
            await app.state.audit_store.database.dispose()

    return asyncio.run(ask())


def test_healthz(hub: RunningHub) -> None:
    assert hub.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_every_connector(hub: RunningHub) -> None:
    response = hub.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "connectors": {c: "ok" for c in (*(c.name for c in discover()), "auth", "audit", "alerts")},
    }


def test_readyz_reports_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(HubSettings(data_dir=tmp_path))
    response = _readyz(app)
    assert response.status_code == 503
    assert set(response.json()["connectors"].values()) == {"OperationalError"}


def test_graphiql_is_served_without_a_token(hub: RunningHub) -> None:
    response = httpx.get(f"{hub.url}/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


def test_readyz_names_a_connector_whose_database_is_down(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = HubSettings(
        data_dir=tmp_path,
        db_urls={"bank": "postgresql://nobody@127.0.0.1:1/none"},
    )
    app = create_app(settings)
    migrate.upgrade(
        [
            *(c for c in app.state.connectors if c.name != "bank"),
            app.state.auth_store,
            app.state.audit_store,
        ]
    )
    response = _readyz(app)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["connectors"]["bank"] != "ok"
    assert body["connectors"]["housing"] == "ok"
