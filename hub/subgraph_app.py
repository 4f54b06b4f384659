"""One agency's connector served alone, as an Apollo Federation v2 subgraph at /graphql
(`hub connector serve <agency>`), with /healthz and /readyz.

A request passes the same checks as at the hub: a valid bearer token and a purpose (401,
400, 403 before any GraphQL runs; a client trusted as a delegate, the hub, may name the
caller it answers: `auth.delegation`), the body limits, then the operation limits and
the request timeout. Field scopes and jurisdiction are decided inside the schema
(`schemas.subgraph`), so `_entities` cannot skip them. Rate limits stay with the hub or
gateway in front.

Jurisdiction is decided from housing's, the bank's and the courts' records, as at the
hub, so the process is given every agency's loaders; it serves only its own agency's
fields.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Collection

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from auth.delegation import DelegatingCallerMiddleware
from auth.store import AuthStore
from connectors.base import Connector
from hub.app import HubGraphQL, readiness, token_verifier
from hub.limits.documents import DocumentStore
from hub.limits.pipeline import observe_error, schema_extensions
from hub.limits.requests import RequestLimits, RequestLimitsMiddleware
from hub.settings import HubSettings
from hub.wiring import build_auth_store, build_connectors
from schemas.subgraph import build_subgraph_schema


class UnknownAgency(ValueError):
    """No connector of that name is installed."""


def create_subgraph_app(
    agency: str, settings: HubSettings | None = None, *, delegates: Collection[str] = ()
) -> Starlette:
    """`delegates`: client ids that may call on another client's behalf (the hub's)."""
    settings = settings or HubSettings()
    connectors = build_connectors(settings)
    served = next((c for c in connectors if c.name == agency), None)
    if served is None:
        names = ", ".join(c.name for c in connectors)
        raise UnknownAgency(f"no connector {agency!r}; installed: {names}")
    auth_store = build_auth_store(settings)
    http = httpx.AsyncClient(follow_redirects=False)
    verifier = token_verifier(settings, auth_store, http)
    schema = build_subgraph_schema(
        type(served),
        schema_extensions(settings),
        hide_suggestions=settings.env == "production",
        error_observer=observe_error,
    )
    request_limits = RequestLimits(
        max_body_bytes=settings.max_body_bytes,
        max_document_bytes=settings.max_document_bytes,
        max_variable_depth=settings.max_variable_depth,
        max_variable_values=settings.max_variable_values,
        batch_max=0,
        require_trusted_documents=False,
    )
    graphql = RequestLimitsMiddleware(
        HubGraphQL(schema, settings, connectors),
        request_limits,
        DocumentStore(settings.documents_dir),
    )
    checked: list[Connector | AuthStore] = [served, auth_store]

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "agency": agency})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await http.aclose()
        for connector in connectors:
            await connector.database.dispose()
        await auth_store.database.dispose()

    app = Starlette(
        routes=[
            Route(
                "/graphql",
                DelegatingCallerMiddleware(graphql, verifier, auth_store, delegates),
                methods=["GET", "POST"],
            ),
            Route("/healthz", healthz),
            Route("/readyz", readiness(checked)),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.connectors = connectors
    app.state.auth_store = auth_store
    return app
