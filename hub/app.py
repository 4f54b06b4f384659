"""The Starlette application: GraphQL at /graphql, the OAuth2 token endpoint at
/oauth/token and the hub's public keys at /.well-known/jwks.json, liveness at /healthz,
readiness at /readyz.

A request flows: caller middleware (bearer token, purpose: `auth/middleware.py`) →
(limits: a later issue) → GraphQL view → per-request context with the caller and each
connector's batched loaders → resolvers → connectors' databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Sequence

import httpx
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from auth.middleware import CallerMiddleware
from auth.server import JWKSEndpoint, TokenEndpoint, TokenPolicy
from auth.store import AuthStore
from auth.tokens import TokenVerifier
from connectors.base import Connector
from hub.settings import HubSettings
from hub.wiring import build_auth_store, build_connectors
from schemas.context import PageLimits, RequestContext
from schemas.schema import HubSchema, build_schema

READINESS_TIMEOUT_SECONDS = 3.0

log = logging.getLogger(__name__)


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
        """The caller is there for every request that can run an operation; only the
        GraphiQL page, which runs none, comes without (see `auth.middleware`)."""
        return RequestContext(
            limits=self.limits,
            loader_factories=self.loader_factories,
            caller=request.scope.get("caller"),
        )


async def _check(health: Awaitable[None]) -> str | None:
    try:
        await asyncio.wait_for(health, READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "not ready"; the kind is enough to report
        return type(error).__name__
    return None


async def _first_signing_key(auth_store: AuthStore) -> None:
    """`hub migrate` creates the first key; this covers a store migrated some other way. An
    unreachable auth database must not stop the start: /readyz reports it."""
    try:
        kid = await auth_store.create_first_signing_key()
    except (SQLAlchemyError, OSError) as error:
        log.warning("auth database unavailable at start-up: %s", type(error).__name__)
        return
    if kid:
        log.info("created the first signing key %s", kid)


def create_app(settings: HubSettings | None = None) -> Starlette:
    settings = settings or HubSettings()
    connectors = build_connectors(settings)
    auth_store = build_auth_store(settings)
    http = httpx.AsyncClient(follow_redirects=False)
    verifier = TokenVerifier(
        auth_store,
        issuer=settings.issuer,
        audience=settings.audience,
        trusted=settings.trusted_issuers,
        http=http,
    )
    policy = TokenPolicy(settings.issuer, settings.audience, settings.token_ttl_seconds)
    graphql = HubGraphQL(build_schema(), settings, connectors)
    checked: list[Connector | AuthStore] = [*connectors, auth_store]
    if settings.env == "production" and os.environ.get("AUTHLIB_INSECURE_TRANSPORT"):
        log.warning("AUTHLIB_INSECURE_TRANSPORT is set: /oauth/token accepts secrets over http")

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> JSONResponse:
        failures = await asyncio.gather(*(_check(c.check_health()) for c in checked))
        report = {c.name: failure or "ok" for c, failure in zip(checked, failures, strict=True)}
        ready = not any(failures)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "connectors": report},
            status_code=200 if ready else 503,
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await _first_signing_key(auth_store)
        yield
        await http.aclose()
        for target in checked:
            await target.database.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", CallerMiddleware(graphql, verifier), methods=["GET", "POST"]),
            Route("/oauth/token", TokenEndpoint(auth_store, policy).handle, methods=["POST"]),
            Route("/.well-known/jwks.json", JWKSEndpoint(auth_store).handle),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.connectors = connectors
    app.state.auth_store = auth_store
    return app
