"""The Starlette application: GraphQL at /graphql (GraphiQL there for a browser, outside
production), agencies' pushes at /ingest/<agency>/<table> (`hub/ingest_app.py`), the OAuth2
token endpoint at /oauth/token and the hub's public keys at /.well-known/jwks.json,
liveness at /healthz, readiness at /readyz, the web desk's static files at /static.

A request flows through the guards every process that answers callers shares
(`hub/guards.py`): audit middleware (holds the response until its record is committed:
`audit/middleware.py`) → caller middleware (bearer token, purpose: `auth/middleware.py`) →
rate limit (`hub/limits/rates.py`) → request body limits and trusted documents
(`hub/limits/requests.py`) → GraphQL view, under the request timeout → the schema's
parse and validation limits (`hub/limits/pipeline.py`) → per-request context with the
caller and each connector's batched loaders → resolvers → connectors' transports (their
databases, or their services: `connectors.transport`). The field guard and the entity
gate note what is disclosed, the audit extension notes the operation
(`audit/extension.py`), and the audit middleware commits the record.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import httpx
from cross_web import HTTPException  # strawberry's view raises it (strawberry depends on it)
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router, request_response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLRequestData
from strawberry.http.async_base_view import AsyncHTTPRequestAdapter
from strawberry.types import ExecutionResult
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from alerts.dispatcher import Dispatcher
from alerts.evaluation import Evaluations, escalate_forever, evaluate
from alerts.graph import STREAM_ENDPOINT, EventStream
from alerts.payloads import AsClient
from alerts.store import AlertStore
from audit.graph import AuditReader
from audit.record import AuditTrail
from auth import passwords
from auth.bodies import BodyLimit
from auth.exchange import agency_audience
from auth.middleware import CallerMiddleware, Refusal
from auth.national import NationalRegistry
from auth.server import JWKSEndpoint, TokenEndpoint, TokenPolicy, sign_access_token
from auth.staff import DeskSession, StaffStore
from auth.store import AuthStore
from auth.tokens import TokenVerifier
from connectors.base import Connector
from connectors.credentials import Mint
from connectors.transport import Requester
from graph.facts.store import FactsStore
from graph.merged import HUB_SUBGRAPH
from graph.schema import HubSchema
from hub import graphql_http, telemetry
from hub.edge import Edge
from hub.facts import refresh_after_import
from hub.graph import hub_schema
from hub.guards import build_guards
from hub.importing import Importer
from hub.ingest_app import IngestEndpoint
from hub.limits import refusal
from hub.limits.documents import DocumentStore
from hub.limits.pipeline import observe_error
from hub.limits.rates import parse_rates
from hub.national_app import NationalEndpoint, NationalRunner, call_limit, national_methods
from hub.settings import HubSettings
from hub.stream_app import StreamEndpoint
from hub.wiring import (
    build_alert_store,
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_cursors,
    build_delivery_queue,
    build_facts_store,
    build_observer,
    loader_factories,
)
from kernel import errors
from kernel.context import RequestContext
from web import cases, dashboard, developer, service
from web.desk import MAX_FORM_BYTES, Desk, desk_routes
from web.graphiql import graphiql_page
from web.runner import Answer, documents
from web.session import CookiePolicy
from web.static import static_files

READINESS_TIMEOUT_SECONDS = 3.0

log = logging.getLogger(__name__)

_VIEW_REFUSALS = {
    400: errors.INVALID_REQUEST,
    404: errors.NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    413: errors.REQUEST_TOO_LARGE,
    406: errors.NOT_ACCEPTABLE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
}
"""What strawberry's view refuses (an unknown operation name, a body it cannot read),
as the JSON refusals every other layer answers with; strawberry writes plain text."""


_REFUSED_BEFORE_EXECUTION = "graphql_refused_before_execution"


class HubGraphQL(GraphQL[RequestContext, None]):
    def __init__(
        self,
        schema: HubSchema,
        settings: HubSettings,
        connectors: Sequence[Connector],
        audit_reader: AuditReader | None = None,
        alert_store: AlertStore | None = None,
        facts_store: FactsStore | None = None,
    ):
        super().__init__(
            schema,
            graphql_ide="graphiql" if settings.graphiql and settings.env != "production" else None,
            allow_queries_via_get=False,
        )
        self.limits = settings.pages
        self.cursors = build_cursors(settings)
        self.loader_factories = loader_factories(connectors)
        if audit_reader is not None:  # a subgraph serves no audit log
            self.loader_factories[AuditReader] = lambda waves, caller: audit_reader
        if alert_store is not None:
            self.loader_factories[AlertStore] = lambda waves, caller: alert_store
        if facts_store is not None:  # the dashboard reads its lists and counts there
            self.loader_factories[FactsStore] = lambda waves, caller: facts_store
        self.timeout = settings.limits.request_timeout_seconds

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL from the hub's own static files (strawberry's page loads it from a CDN)."""
        return graphiql_page()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Queries run over POST only: a GET names a query (or asks for anything but the
        GraphiQL page) is a 405. Whatever strawberry's view refuses is answered in JSON.
        The answer's media type and status follow GraphQL over HTTP (`hub.graphql_http`)."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        media = graphql_http.negotiate(request.headers.get("accept"))
        try:
            if request.method != "POST" and "query" in request.query_params:
                raise HTTPException(405, "queries run over POST, as application/json")
            if request.method == "POST" and media is None:
                raise HTTPException(
                    406,
                    f"accept {graphql_http.GRAPHQL_RESPONSE} or {graphql_http.JSON}",
                )
            response = await self.run(request)
        except HTTPException as error:
            await _view_refusal(error).send(send)
            return
        if request.method == "POST" and response.media_type == graphql_http.JSON:
            if media == graphql_http.GRAPHQL_RESPONSE:
                refused = bool(scope.get(_REFUSED_BEFORE_EXECUTION))
                response = graphql_http.as_graphql_response(response, refused)
            else:
                response.headers["content-type"] = f"{graphql_http.JSON}; charset=utf-8"
        await response(scope, receive, send)

    async def process_result(self, request: Request, result: ExecutionResult) -> Any:
        """Notes on the request whether GraphQL refused it before executing (the status
        under application/graphql-response+json)."""
        found = list(result.errors or ())
        if graphql_http.refused_before_execution(result.data, found):
            request.scope[_REFUSED_BEFORE_EXECUTION] = True
        return await super().process_result(request, result)

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: RequestContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """Run one operation under the request timeout: a slow chain of resolvers is
        cancelled (its database calls with it) and answers REQUEST_TIMEOUT, so it cannot
        hold a worker. Per-connector deadlines belong to remote connectors
        (`connectors.resilience`)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        except TimeoutError:
            error = refusal.limit_error(
                errors.REQUEST_TIMEOUT,
                self.timeout,
                f"the request took longer than {self.timeout:g} s and was stopped",
            )
            caller = context.caller
            refusal.record(errors.REQUEST_TIMEOUT, self.timeout, getattr(caller, "client_id", None))
            return ExecutionResult(data=None, errors=[error])

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> RequestContext:
        """The caller is there for every request that can run an operation; only the
        GraphiQL page, which runs none, comes without (see `auth.middleware`). The audit
        trail, when auditing is on, collects what the request discloses."""
        return self._context(request.scope)

    def context_of(self, scope: Scope) -> RequestContext:
        """The request's context, as every operation of this view gets it."""
        return self._context(scope)

    def _context(self, scope: Scope) -> RequestContext:
        context = RequestContext(
            limits=self.limits,
            loader_factories=self.loader_factories,
            cursors=self.cursors,
            caller=scope.get("caller"),
        )
        trail = scope.get("audit")
        if isinstance(trail, AuditTrail):
            context.disclosures = trail.disclosures
            context.per_request[AuditTrail] = trail
        return context

    async def run_in_process(
        self,
        scope: Scope,
        document: str,
        variables: Mapping[str, Any],
        operation_name: str | None = None,
    ) -> Answer:
        """A web desk page's operation, run against this schema as the request's caller,
        under the request timeout, with the same context (loaders, audit trail) as over
        HTTP: scopes, masking, jurisdiction, limits and audit apply alike."""
        context = self._context(scope)
        try:
            async with asyncio.timeout(self.timeout):
                result = await self.schema.execute(
                    document,
                    variable_values=dict(variables),
                    context_value=context,
                    operation_name=operation_name,
                )
        except TimeoutError:
            result = ExecutionResult(
                data=None,
                errors=[
                    refusal.limit_error(
                        errors.REQUEST_TIMEOUT,
                        self.timeout,
                        f"the request took longer than {self.timeout:g} s and was stopped",
                    )
                ],
            )
        trail = scope.get("audit")
        if isinstance(trail, AuditTrail):
            trail.codes.update(errors.error_code(error) for error in result.errors or ())
        return Answer.of(result.data, result.errors)


def _view_refusal(error: HTTPException) -> Refusal:
    code = _VIEW_REFUSALS.get(error.status_code, errors.INVALID_REQUEST)
    headers = {"Allow": "POST"} if error.status_code == 405 else {}
    return Refusal(error.status_code, code, error.reason, headers=headers)


async def _check(health: Awaitable[None]) -> str | None:
    try:
        await asyncio.wait_for(health, READINESS_TIMEOUT_SECONDS)
    except Exception as error:  # any failure means "not ready"; the kind is enough to report
        return type(error).__name__
    return None


class HealthChecked(Protocol):
    @property
    def name(self) -> str: ...
    def check_health(self) -> Awaitable[None]: ...


def readiness(checked: Sequence[HealthChecked]) -> Callable[[Request], Awaitable[JSONResponse]]:
    """`GET /readyz`: 200 when every store answers and is migrated, else 503 naming it."""

    async def readyz(request: Request) -> JSONResponse:
        failures = await asyncio.gather(*(_check(c.check_health()) for c in checked))
        report = {c.name: failure or "ok" for c, failure in zip(checked, failures, strict=True)}
        ready = not any(failures)
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "connectors": report},
            status_code=200 if ready else 503,
        )

    return readyz


def edge(routes: Sequence[BaseRoute]) -> Middleware:
    """The outermost layer (`hub.edge`): request ids, the access log, JSON for the
    unexpected; it logs a request's path as the route that serves it is written."""
    return Middleware(Edge, routes=routes)


def token_verifier(
    settings: HubSettings,
    auth_store: AuthStore,
    http: httpx.AsyncClient,
    agencies: Sequence[str] = (),
) -> TokenVerifier:
    """The hub's own tokens and the trusted issuers', as settings name them; no trusted
    issuer may vouch for the hub's own connector client. `agencies`: those whose
    exchanged tokens (`auth.exchange`) are accepted too — an agency's service its own."""
    return TokenVerifier(
        auth_store,
        issuer=settings.issuer,
        audience=settings.audience,
        trusted=settings.trusted_issuers,
        http=http,
        reserved={settings.connector.client_id},
        extra_audiences=[agency_audience(settings.audience, agency) for agency in agencies],
    )


def audiences(connectors: Sequence[Connector]) -> tuple[str, ...]:
    """The agencies' services a token may be exchanged for: each connector's, and the
    hub's own cross-agency subgraph."""
    return (*(c.name for c in connectors), HUB_SUBGRAPH)


def minter(auth_store: AuthStore, policy: TokenPolicy) -> Mint:
    """The hub's own token for a caller it authenticated without a bearer token — a web
    desk session, a webhook subscription's client — so that a remote agency answers that
    caller (its token exchanged like any other), not the hub. None for a caller that is
    no active client (the warnings evaluation reads under the hub's own grant)."""

    async def mint(requester: Requester) -> tuple[str, float] | None:
        client = await auth_store.client(requester.client_id)
        key = await auth_store.current_signing_key()
        if client is None or client.revoked or key is None:
            return None
        scopes = " ".join(sorted(set(requester.scopes) & set(client.scopes)))
        token = sign_access_token(key, policy, client.client_id, scopes, user=requester.user)
        return token, float(policy.ttl_seconds)

    return mint


async def _first_signing_key(auth_store: AuthStore) -> None:
    """`hub migrate` creates the first key and seals keys stored in the clear; this covers
    a store migrated some other way. An unreachable auth database must not stop the
    start: /readyz reports it."""
    try:
        kid = await auth_store.create_first_signing_key()
        sealed = await run_in_threadpool(auth_store.seal_plain_keys)
    except (SQLAlchemyError, OSError) as error:
        log.warning("auth database unavailable at start-up: %s", type(error).__name__)
        return
    if kid:
        log.info("created the first signing key %s", kid)
    if sealed:
        log.info("sealed %d signing key(s) stored in the clear", len(sealed))


def create_app(settings: HubSettings | None = None) -> Starlette:
    settings = settings or HubSettings()
    auth_store = build_auth_store(settings)
    http = httpx.AsyncClient(follow_redirects=False)
    policy = TokenPolicy(settings.issuer, settings.audience, settings.token.ttl_seconds)
    connectors = build_connectors(settings, http, minter(auth_store, policy))
    verifier = token_verifier(settings, auth_store, http)
    production = settings.env == "production"
    guards = build_guards(settings, verifier, build_audit_store(settings, auth_store))
    audit_store, hasher = guards.audit_store, guards.hasher
    telemetry.start_tracing(settings.otel.endpoint, settings.otel.service_name)
    telemetry.quiet_libraries(echo_sql=settings.db.echo)
    schema = hub_schema(
        [telemetry.OperationTelemetry, *guards.extensions()],
        hide_suggestions=production,
        error_observer=observe_error,
        batch_max=settings.limits.batch_max,
    )
    alert_store = build_alert_store(settings)
    facts_store = build_facts_store(settings)
    graphql = HubGraphQL(
        schema,
        settings,
        connectors,
        AuditReader(audit_store, hasher),
        alert_store,
        facts_store,
    )

    def callers(app: ASGIApp) -> ASGIApp:
        return CallerMiddleware(app, verifier)

    checked: list[HealthChecked] = [*connectors, auth_store, audit_store, alert_store]
    desk = _desk(settings, auth_store, policy, graphql)
    observer = build_observer(settings, connectors)
    evaluations = Evaluations(lambda: evaluate(observer, alert_store, after_import=True))

    async def after_import() -> None:
        """Every applied import (a push, a province's upload): the warning facts brought
        up to date, then the warning rules asked to run (in the background)."""
        await refresh_after_import(facts_store, graphql.loader_factories, connectors)
        if settings.alerts.evaluate_after_import:
            evaluations.request()

    importer = Importer(
        connectors, audit_store if guards.auditing else None, hasher, refresh_facts=after_import
    )
    registry = NationalRegistry(auth_store.database, auth_store.sealer)
    methods = national_methods(importer)
    runner = NationalRunner(registry, importer, methods, settings.national)
    deliveries = AsClient(
        schema,
        graphql.loader_factories,
        graphql.cursors,
        auth_store.get_client,
        audit_store if guards.auditing else None,
        hasher,
        settings.pages,
    )
    agencies = audiences(connectors)
    graphql.loader_factories[EventStream] = lambda waves, caller: EventStream(
        alert_store, deliveries, settings.alerts.poll_seconds
    )
    stream = guards.stream(StreamEndpoint(schema, graphql.context_of), callers)
    token_endpoint = TokenEndpoint(
        auth_store,
        policy,
        body_timeout_seconds=settings.limits.body_timeout_seconds,
        verifier=token_verifier(settings, auth_store, http, agencies),
        agencies=agencies,
    ).handle

    if production and os.environ.get("AUTHLIB_INSECURE_TRANSPORT"):
        log.warning("AUTHLIB_INSECURE_TRANSPORT is set: /oauth/token accepts secrets over http")

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await _first_signing_key(auth_store)
        await asyncio.to_thread(passwords.prepare)  # before the first sign-in (its timing)
        # What start-up built lives as long as the process: keep the collector off it, so
        # full collections stay short (they set the tail latency, measured in bench/).
        gc.collect()
        gc.freeze()
        async with guards.running():
            running = asyncio.create_task(runner.run()) if settings.national.enabled else None
            evaluating = asyncio.create_task(evaluations.run_forever())
            escalating = asyncio.create_task(escalate_forever(alert_store))
            stop_dispatching = asyncio.Event()
            dispatching = (
                asyncio.create_task(
                    Dispatcher(
                        alert_store,
                        deliveries,
                        settings.alerts,
                        queue=build_delivery_queue(settings, alert_store),
                    ).run(stop_dispatching)
                )
                if settings.alerts.dispatch
                else None
            )
            yield
            stop_dispatching.set()
            evaluating.cancel()
            escalating.cancel()
            if running is not None:
                running.cancel()
            for task in (running, evaluating, escalating, dispatching):
                if task is not None:
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            registry.close()
            alert_store.close()
            await http.aclose()
            for connector in connectors:
                await connector.dispose()
        await auth_store.database.dispose()
        await alert_store.database.dispose()
        await facts_store.database.dispose()
        telemetry.flush_traces()
        telemetry.process_ended()

    routes = [
        Route("/graphql", guards.graphql(graphql, callers), methods=["GET", "POST"]),
        Route(STREAM_ENDPOINT, stream, methods=["GET", "POST"]),
        Route(
            "/ingest/{agency}/{table}",
            guards.endpoint(IngestEndpoint(importer, settings.ingest), callers),
            methods=["POST"],
        ),
        Route(
            "/oauth/token",
            guards.audited(request_response(token_endpoint)) if guards.auditing else token_endpoint,
            methods=["POST"],
        ),
        Route("/.well-known/jwks.json", JWKSEndpoint(auth_store).handle),
        *(
            [
                Route(
                    "/open.api",
                    guards.audited(
                        request_response(
                            NationalEndpoint(
                                registry,
                                methods,
                                settings.national,
                                call_limit(parse_rates(settings.rate_limits), guards.buckets),
                                body_timeout_seconds=settings.limits.body_timeout_seconds,
                                queued=runner.wake,
                            ).handle
                        )
                    ),
                    methods=["POST"],
                )
            ]
            if settings.national.enabled
            else []
        ),
        Route("/healthz", healthz),
        Route("/readyz", readiness(checked)),
        Route("/metrics", telemetry.metrics_endpoint(verifier)),
        Mount("/static", static_files(), name="static"),
        Route(
            "/desk{rest:path}",
            guards.audited(
                BodyLimit(
                    Router(desk_routes(_DESK_PAGES)),
                    max_bytes=MAX_FORM_BYTES,
                    timeout_seconds=settings.limits.body_timeout_seconds,
                )
            ),
            methods=["GET", "POST"],
        ),
    ]
    middleware = [edge(routes)]
    if settings.sources.trusted_proxies:  # the source is who they say (else the peer)
        proxies = settings.sources.trusted_proxies
        middleware.insert(0, Middleware(ProxyHeadersMiddleware, trusted_hosts=proxies))
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.settings = settings
    app.state.tally = guards.tally
    app.state.connectors = connectors
    app.state.auth_store = auth_store
    app.state.audit_store = audit_store
    app.state.alert_store = alert_store
    app.state.facts_store = facts_store
    app.state.evaluations = evaluations
    app.state.desk = desk
    return app


_DESK_PAGES = {**cases.ROUTES, **dashboard.ROUTES, **service.ROUTES, **developer.ROUTES}


def _desk(
    settings: HubSettings, auth_store: AuthStore, policy: TokenPolicy, graphql: HubGraphQL
) -> Desk:
    """The web desk: people's sessions in the auth store, pages answered by this hub's
    schema in process; its documents registered as trusted documents, so they run under
    HUB_TRUSTED_DOCUMENTS=required and can be sent by hash."""
    store = DocumentStore(settings.documents_dir)
    for text in documents().values():
        store.add(text)
    production = settings.env == "production"
    secure = settings.desk.secure_cookie
    staff = StaffStore(auth_store, settings.desk)

    async def issue_token(session: DeskSession) -> str:
        key = await auth_store.current_signing_key()
        if key is None:
            raise RuntimeError("the hub has no signing key yet: run `hub migrate`")
        return sign_access_token(
            key,
            policy,
            session.client.client_id,
            " ".join(sorted(session.scopes)),
            user=session.account.username,
        )

    return Desk(
        staff=staff,
        run=graphql.run_in_process,
        cookies=CookiePolicy(secure=production if secure is None else secure),
        issue_token=issue_token,
        graphiql=settings.graphiql and not production,
    )
