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

`POST /connector/load` answers the hub's connector calls (`connectors.remote`): a token
holding `connector:load`, from a client trusted as a delegate, naming its caller.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Collection

import httpx
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from auth.delegation import DelegatingCallerMiddleware
from auth.store import AuthStore
from auth.tokens import VerifiedToken
from connectors.base import Connector
from connectors.remote import LOAD_PATH, answer_calls
from graph import derived
from graph.merged import HUB_SUBGRAPH
from graph.subgraph import build_subgraph_schema
from hub.app import HubGraphQL, readiness, token_verifier
from hub.limits.documents import DocumentStore
from hub.limits.pipeline import observe_error, schema_extensions
from hub.limits.requests import RequestLimitsMiddleware
from hub.settings import HubSettings
from hub.wiring import build_auth_store, build_connectors
from kernel.caller import Caller
from kernel.scopes import CONNECTOR_LOAD
from web.static import static_files

log = logging.getLogger(__name__)


class ConnectorLoads:
    """The agency's end of `connectors.remote`: the hub's batched look-ups, answered from
    this agency's database and logged with the caller they are for."""

    def __init__(self, connector: Connector, max_body_bytes: int) -> None:
        self.connector = connector
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.answer(request, scope["caller"], scope["presenter"])
        await response(scope, receive, send)

    async def answer(self, request: Request, caller: Caller, presenter: VerifiedToken) -> Response:
        if CONNECTOR_LOAD not in presenter.scopes:
            return _refused(403, "insufficient_scope", f"connector calls need {CONNECTOR_LOAD}")
        body = await request.body()
        if len(body) > self.max_body_bytes:
            return _refused(413, "request_too_large", f"at most {self.max_body_bytes} bytes")
        try:
            results = await answer_calls(
                self.connector.loaders, self.connector.database, json.loads(body)
            )
        except ValueError as error:  # malformed JSON, or a WireError
            return _refused(400, "invalid_request", str(error))
        except (SQLAlchemyError, OSError) as error:
            log.warning("connector calls failed: %s", type(error).__name__)
            return _refused(503, "unavailable", f"{self.connector.name}'s database did not answer")
        log.info(
            "%d connector calls for %s via %s, purpose %s, reference %s",
            len(results),
            caller.client_id,
            presenter.client.client_id,
            caller.purpose,
            caller.purpose_reference or "-",
        )
        return JSONResponse({"results": results})


def _refused(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


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
    if served is not None and served.remote is not None:
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
            await connector.database.dispose()
        await auth_store.database.dispose()

    routes = [
        Route(
            "/graphql",
            DelegatingCallerMiddleware(graphql, verifier, auth_store, delegates),
            methods=["GET", "POST"],
        ),
        Route("/healthz", healthz),
        Route("/readyz", readiness(checked)),
        Mount("/static", static_files(), name="static"),  # GraphiQL's files
    ]
    if served is not None:
        loads = ConnectorLoads(served, settings.limits.max_body_bytes)
        routes.append(
            Route(
                LOAD_PATH,
                DelegatingCallerMiddleware(loads, verifier, auth_store, delegates),
                methods=["POST"],
            )
        )
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.settings = settings
    app.state.connectors = connectors
    app.state.auth_store = auth_store
    return app
