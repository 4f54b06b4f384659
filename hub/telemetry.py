"""What a running hub tells its operators: Prometheus metrics at `GET /metrics`, OpenTelemetry
traces exported by OTLP when configured, and log lines as JSON in production.

    /metrics     on the hub's own port, for a client holding `metrics:read` (a bearer token
                 from /oauth/token, as Prometheus's `oauth2` scrape option gets one): the
                 same TLS, proxy and rate limits as every other route, no second listener
                 to secure; metrics name no person, but volumes by client are still the
                 agencies' business, so they are not public
    traces       off unless HUB_OTEL_ENDPOINT or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set;
                 then a span per request (its W3C traceparent honoured), the rate limit,
                 parsing, validation, execution, each wave of loads and each agency's load
                 in it, the audit commit; calls to a remote agency carry `traceparent`
    logs         HUB_LOG_FORMAT=json (the default in production): one JSON object a line,
                 with the request id; never a query string, a header's value or a variable

Labels and span attributes hold only names the hub defines (`kernel.metrics`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

from graphql import FieldNode, OperationDefinitionNode
from opentelemetry import trace
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from auth.errors import InvalidToken
from auth.middleware import REALM, Refusal
from auth.tokens import TokenVerifier
from hub.edge import current_request_id
from kernel import errors
from kernel.caller import Caller
from kernel.deferred import deferred
from kernel.metrics import OPERATION_DURATION, OPERATIONS
from kernel.scopes import METRICS_READ
from kernel.tracing import tracer

if TYPE_CHECKING:
    import opentelemetry.exporter.otlp.proto.http.trace_exporter as otlp_http
    import opentelemetry.sdk.resources as sdk_resources
    import opentelemetry.sdk.trace as sdk_trace
    import opentelemetry.sdk.trace.export as sdk_export
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler
else:
    # the SDK and its exporter only where traces are exported (`start_tracing`)
    otlp_http = deferred("opentelemetry.exporter.otlp.proto.http.trace_exporter")
    sdk_resources = deferred("opentelemetry.sdk.resources")
    sdk_trace = deferred("opentelemetry.sdk.trace")
    sdk_export = deferred("opentelemetry.sdk.trace.export")

MULTIPROCESS_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
MAX_ROOT_FIELDS: Final = 3
_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,47}")


# -- metrics ---------------------------------------------------------------------------------


def prepare_multiprocess(directory: Path) -> None:
    """Before `--workers N` start: each worker writes its values under `directory`
    (emptied first), and /metrics adds them up."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROCESS_ENV] = str(directory)


def exposition() -> bytes:
    """Every metric of this process, or of every worker process."""
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def process_ended(pid: int | None = None) -> None:
    """A worker's live gauges stop counting once it ends: this process's at its shutdown,
    or, from the supervisor, a worker's it killed or found dead (which never shut down)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(os.getpid() if pid is None else pid)


def metrics_endpoint(verifier: TokenVerifier) -> Any:
    """`GET /metrics` for a bearer token holding `metrics:read` (no purpose: no record of a
    person is read)."""

    async def metrics(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": f'Bearer realm="{REALM}"'}
        if scheme.lower() != "bearer" or not token.strip():
            return Refusal(
                401,
                errors.MISSING_AUTHORIZATION,
                "send Authorization: Bearer <token>",
                headers=challenge,
            ).response()
        try:
            verified = await verifier.verify(token.strip())
        except InvalidToken as error:
            return Refusal(401, errors.INVALID_TOKEN, str(error), headers=challenge).response()
        if METRICS_READ not in verified.scopes:
            return Refusal(
                403,
                errors.INSUFFICIENT_SCOPE,
                f"/metrics needs scope {METRICS_READ}",
                headers={
                    "WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{METRICS_READ}"'
                },
            ).response()
        return Response(
            exposition(), media_type=CONTENT_TYPE_LATEST, headers={"cache-control": "no-store"}
        )

    return metrics


def operation_label(document: Any, operation_name: str | None, known: Mapping[str, Any]) -> str:
    """The operation's root fields, as the schema names them (a name the caller made up,
    which may hold anything, is `(invalid)`): `disputeCase`, `project,warningSummary`."""
    if document is None:
        return "(unparsed)"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if chosen is None:
        return "(none)"
    names = sorted(
        {
            s.name.value if s.name.value in known or s.name.value.startswith("__") else "(invalid)"
            for s in chosen.selection_set.selections
            if isinstance(s, FieldNode)
        }
    )
    names = [n if not n.startswith("__") else "(introspection)" for n in names]
    if len(names) > MAX_ROOT_FIELDS:
        names = [*names[:MAX_ROOT_FIELDS], f"+{len(names) - MAX_ROOT_FIELDS}"]
    return ",".join(dict.fromkeys(names)) or "(fragments)"


class OperationTelemetry(SchemaExtension):
    """Each operation counted and timed by root fields, client and outcome, and traced:
    a span for the operation, and one each for parsing, validation and execution."""

    @contextlib.contextmanager
    def _span(self, name: str) -> Iterator[None]:
        """A span for a step in which nothing else is traced, so never made current:
        strawberry enters every extension's hook before the step, and when a later hook
        fails there (the limits' cache parses a malformed document in its own), this one is
        left suspended and closed by the garbage collector in another context, where
        detaching a current span logs `Failed to detach context`. Ending one only ends it."""
        span = tracer.start_span(name)
        try:
            yield
        finally:
            span.end()

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        with tracer.start_as_current_span("graphql.operation") as span:
            yield
            context = self.execution_context
            caller = getattr(context.context, "caller", None)
            client = caller.client_id if isinstance(caller, Caller) else "(none)"
            schema = context.schema._schema
            known = {
                **(schema.query_type.fields if schema.query_type else {}),
                **(schema.mutation_type.fields if schema.mutation_type else {}),
            }
            operation = operation_label(context.graphql_document, context.operation_name, known)
            result = context.result
            found = list(getattr(result, "errors", None) or []) or list(
                context.pre_execution_errors or []
            )
            outcome = "ok"
            if found:
                code = errors.error_code(found[0])
                outcome = code if _CODE.fullmatch(code) else "OTHER"
            span.set_attributes(
                {
                    "graphql.operation.fields": operation,
                    "hub.client": client,
                    "hub.outcome": outcome,
                }
            )
            OPERATIONS.labels(operation, client, outcome).inc()
            OPERATION_DURATION.labels(operation, client).observe(time.perf_counter() - started)

    def on_parse(self) -> Iterator[None]:
        with self._span("graphql.parse"):
            yield

    def on_validate(self) -> Iterator[None]:
        with self._span("graphql.validate"):
            yield

    def on_execute(self) -> Iterator[None]:
        with tracer.start_as_current_span("graphql.execute"):  # waves and loads nest in it
            yield


# -- traces ----------------------------------------------------------------------------------

_provider: TracerProvider | None = None


def otlp_endpoint(configured: str | None) -> str | None:
    """HUB_OTEL_ENDPOINT, else the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT; the
    traces path added to a base URL."""
    traces = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    if not configured and traces:
        return traces
    base = configured or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not base:
        return None
    return base if base.rstrip("/").endswith("/v1/traces") else f"{base.rstrip('/')}/v1/traces"


def start_tracing(
    endpoint: str | None,
    service_name: str,
    exporter: SpanExporter | None = None,
    sampler: Sampler | None = None,
) -> TracerProvider | None:
    """Installs the process's tracer provider once (an OTLP/HTTP exporter, or the one
    given, every span sampled unless a sampler says otherwise); None, and spans stay
    no-ops, when nothing is configured."""
    global _provider
    if _provider is not None:
        return _provider
    url = otlp_endpoint(endpoint)
    if exporter is None and url is None:
        return None
    provider = sdk_trace.TracerProvider(
        resource=sdk_resources.Resource.create({"service.name": service_name}),
        sampler=sampler,
    )
    exporter = exporter or otlp_http.OTLPSpanExporter(endpoint=url)
    provider.add_span_processor(sdk_export.BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def flush_traces() -> None:
    if _provider is not None:
        _provider.force_flush(timeout_millis=5_000)


# -- logs ------------------------------------------------------------------------------------

VALUE_WRITERS: Final = {
    "authlib": logging.INFO,  # every token it issues, at DEBUG
    "aiosqlite": logging.INFO,  # every statement with its parameters, at DEBUG
    "asyncpg": logging.INFO,
    "httpcore": logging.INFO,
    "httpx": logging.WARNING,  # every URL it requests, query string included, at INFO
    "multipart": logging.WARNING,  # form fields as parsed
    "sqlalchemy.engine": logging.WARNING,  # statements and parameters (HUB_DB_ECHO)
}
"""Libraries that write the values they handle (tokens, ID numbers in SQL parameters)
in their debug lines: held above that level whatever the root logger's."""


def quiet_libraries(echo_sql: bool = False) -> None:
    for name, level in VALUE_WRITERS.items():
        if name == "sqlalchemy.engine" and echo_sql:
            continue  # asked for, in development
        logging.getLogger(name).setLevel(level)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC), level, logger, message, request id, and the
    traceback of an unexpected error."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class CurrentStderr(logging.StreamHandler):
    """Writes to `sys.stderr` as it is when a record is emitted: a handler bound to the
    stream of its configuration keeps writing to it after it is replaced and closed (the
    command line run twice in one process, a test's captured output), and every line
    then prints `--- Logging error --- ValueError: I/O operation on closed file`."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: object) -> None:
        pass


def log_config(json_lines: bool, level: str = "INFO") -> dict[str, Any]:
    """logging's dictConfig for the command line and uvicorn (which applies it in every
    worker): JSON lines, or the plain format."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if json_lines
        else {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    )
    handler = {"()": CurrentStderr, "formatter": "hub"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"hub": formatter},
        "handlers": {"hub": handler},
        "root": {"handlers": ["hub"], "level": level},
        "loggers": {
            **{
                name: {"handlers": ["hub"], "level": level, "propagate": False}
                for name in ("uvicorn", "uvicorn.error")
            },
            # uvicorn's own access line carries the query string (the caller's text: an ID
            # number, say); `hub.access` (`hub.edge`) is the access log. No handler here, so
            # no later configuration in the process can turn uvicorn's back on.
            "uvicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }
