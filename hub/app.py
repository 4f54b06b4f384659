"""The Starlette application: GraphQL at /graphql, liveness at /healthz, readiness at /readyz.

A request flows: (auth, limits: later issues) → GraphQL view → per-request context with
each connector's batched loaders → resolvers → connectors' databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from connectors.base import Connector
from hub.settings import HubSettings
from hub.wiring import build_connectors
from schemas.context import PageLimits, RequestContext
from schemas.schema import HubSchema, build_schema

READINESS_TIMEOUT_SECONDS = 3.0


class HubGraphQL(GraphQL[RequestContext, None]):
    def __init__(self, schema: HubSchema, settings: HubSettings, connectors: Sequence[Connector]):
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql and settings.env != "production" else None,
            allow_queries_via_get=False,
        )
        self.limits = PageLimits(default=settings.default_page_size, maximum=settings.max_page_size)
        self.loader_factories = {type(c).loaders: c.create_loaders for c in connectors}

    def decode_json(self, data: str | bytes) -> object:
        """Bytes that are not UTF-8 JSON are a 400 like any other unparsable body (json.loads
        raises UnicodeDecodeError for some, which would otherwise surface as a 500)."""
        try:
            return json.loads(data)
        except UnicodeDecodeError as error:
            raise json.JSONDecodeError("request body is not UTF-8 JSON", "", 0) from error

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        return RequestContext(limits=self.limits, loader_factories=self.loader_factories)


async def _check(connector: Connector) -> str | None:
    try:
        await asyncio.wait_for(connector.check_health(), READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "not ready"; the kind is enough to report
        return type(error).__name__
    return None


def create_app(settings: HubSettings | None = None) -> Starlette:
    settings = settings or HubSettings()
    connectors = build_connectors(settings)
    graphql = HubGraphQL(build_schema(), settings, connectors)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        failures = await asyncio.gather(*(_check(c) for c in connectors))
        report = {c.name: failure or "ok" for c, failure in zip(connectors, failures, strict=True)}
        ready = not any(failures)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "connectors": report},
            status_code=200 if ready else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for connector in connectors:
            await connector.database.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.connectors = connectors
    return app
