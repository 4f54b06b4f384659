"""One agency's connector served alone, as an Apollo Federation v2 subgraph at /graphql
(`hub connector serve <agency>`), with /healthz and /readyz.

A request passes the same checks as at the hub: a valid bearer token and a purpose (401,
400, 403 before any GraphQL runs; a client trusted as a delegate, the hub, may name the
caller it answers: `auth.delegation`), the body limits, then the operation limits and
the request timeout. Field scopes and jurisdiction are decided inside the schema
(`graph.subgraph`), so `_entities` cannot skip them. Rate limits stay with the hub or
gateway in front.

Jurisdiction is decided from housing's, the bank's and the courts' records, as at the
hub, so the process is given every agency's loaders; it serves only its own agency's
fields. Those other agencies may themselves be remote (`HUB_CONNECTOR_<AGENCY>_URL`).

`POST /connector/load` answers the hub's connector calls (`connectors.serving`): a token
holding `connector:load`, from a client trusted as a delegate, naming its caller.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from auth.delegation import DelegatingCallerMiddleware
from auth.store import AuthStore
from connectors.base import Connector
from connectors.local import LocalTransport
from connectors.serving import ConnectorLoads
from connectors.wire import LOAD_PATH
from graph import derived
from graph.merged import HUB_SUBGRAPH
from graph.subgraph import build_subgraph_schema
from hub.app import HubGraphQL, edge, readiness, token_verifier
from hub.limits.documents import DocumentStore
from hub.limits.pipeline import observe_error, schema_extensions
from hub.limits.rates import LocalBuckets
from hub.limits.requests import RequestLimitsMiddleware
from hub.limits.sources import FailuresBySource, SourceGuard
from hub.settings import HubSettings
from hub.wiring import build_auth_store, build_connectors
from web.static import static_files


class UnknownAgency(ValueError):
    """No connector of that name is installed."""


def create_subgraph_app(
    agency: str, settings: HubSettings | None = None, *, delegates: Collection[str] = ()
) -> Starlette:
    """`agency`: a connector's name, or `hub` for the hub's own cross-agency fields (wage
    positions, compliance, statements), computed from every agency's records.
    `delegates`: client ids that may call on another client's behalf (the hub's)."""
    settings = settings or HubSettings()
    http = httpx.AsyncClient(follow_redirects=False)
    connectors = build_connectors(settings, http)
    served = next((c for c in connectors if c.name == agency), None)
    if served is not None and not isinstance(served.transport, LocalTransport):
        raise UnknownAgency(f"{agency} is configured as remote here: unset HUB_CONNECTOR_*_URL")
    if served is None and agency != HUB_SUBGRAPH:
        names = ", ".join([*(c.name for c in connectors), HUB_SUBGRAPH])
        raise UnknownAgency(f"no connector {agency!r}; installed: {names}")
    auth_store = build_auth_store(settings)
    verifier = token_verifier(settings, auth_store, http)
    schema = build_subgraph_schema(
        [type(served).contribution] if served else derived.CONTRIBUTIONS,
        schema_extensions(settings),
        hide_suggestions=settings.env == "production",
        error_observer=observe_error,
    )
    graphql = RequestLimitsMiddleware(
        HubGraphQL(schema, settings, connectors),
        settings.limits.model_copy(update={"batch_max": 0}),
        DocumentStore(settings.documents_dir),
    )
    checked: list[Connector | AuthStore] = [*([served] if served else connectors), auth_store]

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "agency": agency})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await http.aclose()
        for connector in connectors:
            await connector.dispose()
        await auth_store.database.dispose()

    # A source that keeps failing to authenticate is refused before verification, as at
    # the hub (`hub.limits.sources`).
    failures = FailuresBySource(settings.sources.failure_rate(), LocalBuckets(), verifier)
    routes = [
        Route(
            "/graphql",
            SourceGuard(
                DelegatingCallerMiddleware(graphql, verifier, auth_store, delegates), failures
            ),
            methods=["GET", "POST"],
        ),
        Route("/healthz", healthz),
        Route("/readyz", readiness(checked)),
        Mount("/static", static_files(), name="static"),  # GraphiQL's files
    ]
    if served is not None:
        loads = ConnectorLoads(
            served,
            settings.limits.max_body_bytes,
            body_timeout_seconds=settings.limits.body_timeout_seconds,
        )
        routes.append(
            Route(
                LOAD_PATH,
                SourceGuard(
                    DelegatingCallerMiddleware(loads, verifier, auth_store, delegates), failures
                ),
                methods=["POST"],
            )
        )
    app = Starlette(routes=routes, middleware=[edge(routes)], lifespan=lifespan)
    app.state.settings = settings
    app.state.connectors = connectors
    app.state.auth_store = auth_store
    return app
