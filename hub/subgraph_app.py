"""One agency's connector served alone, as an Apollo Federation v2 subgraph at /graphql
(`hub connector serve <agency>`), with /healthz and /readyz.

A request passes the same guards as at the hub, built in one place (`hub.guards`): the
audit record (no record, no answer), a valid bearer token and a purpose (401, 400, 403
before any GraphQL runs; the hub, or another trusted delegate, presents a token
exchanged for its caller's: `auth.delegation`), the rate limit, the body limits, then
the operation limits and the request timeout. Field scopes and jurisdiction are decided
inside the schema (`graph.subgraph`), so `_entities` cannot skip them. The record goes to
the audit log the settings name (`HUB_AUDIT_*`, the audit database): the hub's, so that
a worker's access report covers what the agencies' services disclosed.

Jurisdiction is decided from housing's, the bank's and the courts' records, as at the
hub, so the process is given every agency's loaders; it serves only its own agency's
fields. Those other agencies may themselves be remote (`HUB_CONNECTOR_<AGENCY>_URL`).

`POST /connector/load` answers the hub's connector calls (`connectors.serving`) for the
caller an exchanged token names, or for a client holding `connector:load` itself, and
re-applies that caller's row limits and masking to the rows (`graph.served`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from audit.store import AuditStore
from auth.delegation import DelegatingCallerMiddleware
from auth.store import AuthStore
from connectors.base import Connector
from connectors.local import LocalTransport
from connectors.serving import ConnectorLoads
from connectors.wire import LOAD_PATH
from graph import derived
from graph.merged import HUB_SUBGRAPH
from graph.served import ServedRows, masked_columns
from graph.subgraph import build_subgraph_schema
from hub.app import HubGraphQL, edge, readiness, token_verifier
from hub.guards import build_guards
from hub.importing import agency_tables
from hub.limits.pipeline import observe_error
from hub.settings import HubSettings
from hub.wiring import build_audit_store, build_auth_store, build_connectors
from web.static import static_files


def entity_columns(connector: Connector) -> dict[str, str]:
    """Column name → the entity kind whose key it holds, as the agency's importable
    tables declare them (what its served rows disclose)."""
    tables = agency_tables(connector)
    return {
        column: kind
        for importable in (tables.tables if tables else ())
        for kind, column in importable.entities
    }


class UnknownAgency(ValueError):
    """No connector of that name is installed."""


def create_subgraph_app(
    agency: str, settings: HubSettings | None = None, *, delegates: Collection[str] = ()
) -> Starlette:
    """`agency`: a connector's name, or `hub` for the hub's own cross-agency fields (wage
    positions, compliance, statements), computed from every agency's records.
    `delegates`: client ids that may act for another client here, with a token exchanged
    for the caller's (the hub's client, other agencies' service clients)."""
    settings = settings or HubSettings()
    http = httpx.AsyncClient(follow_redirects=False)
    connectors = build_connectors(settings, http)
    served = next((c for c in connectors if c.name == agency), None)
    if served is not None and not isinstance(served.transport, LocalTransport):
        raise UnknownAgency(f"{agency} is configured as remote here: unset HUB_CONNECTOR_*_URL")
    if served is None and agency != HUB_SUBGRAPH:
        names = ", ".join([*(c.name for c in connectors), HUB_SUBGRAPH])
        raise UnknownAgency(f"no connector {agency!r}; installed: {names}")
    auth_store = build_auth_store(settings, signing=False)  # verifies, never signs
    verifier = token_verifier(settings, auth_store, http, [agency])
    guards = build_guards(settings, verifier, build_audit_store(settings, auth_store))
    schema = build_subgraph_schema(
        [type(served).contribution] if served else derived.CONTRIBUTIONS,
        guards.extensions(),
        hide_suggestions=settings.env == "production",
        error_observer=observe_error,
    )
    checked: list[Connector | AuthStore | AuditStore] = [
        *([served] if served else connectors),
        auth_store,
        guards.audit_store,
    ]

    def callers(app: ASGIApp) -> ASGIApp:
        return DelegatingCallerMiddleware(app, verifier, delegates)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "agency": agency})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with guards.running():
            yield
            await http.aclose()
            for connector in connectors:
                await connector.dispose()
        await auth_store.database.dispose()

    graphql = HubGraphQL(schema, settings, connectors)
    routes = [
        Route("/graphql", guards.graphql(graphql, callers, subgraph=True), methods=["GET", "POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readiness(checked)),
        Mount("/static", static_files(), name="static"),  # GraphiQL's files
    ]
    if served is not None:
        keys = entity_columns(served)
        policy = ServedRows(
            graphql.loader_factories,
            settings.pages,
            graphql.cursors,
            keys,
            masked_columns(schema._schema, keys),
        )
        loads = ConnectorLoads(
            served,
            settings.limits.max_body_bytes,
            body_timeout_seconds=settings.limits.body_timeout_seconds,
            entity_columns=keys,
            policy=policy,
        )
        routes.append(Route(LOAD_PATH, guards.endpoint(loads, callers), methods=["POST"]))
    app = Starlette(routes=routes, middleware=[edge(routes)], lifespan=lifespan)
    app.state.settings = settings
    app.state.connectors = connectors
    app.state.auth_store = auth_store
    app.state.audit_store = guards.audit_store
    return app
