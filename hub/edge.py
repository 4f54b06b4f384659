"""The outermost layer of the hub and of every agency service: each request gets an id,
leaves one access-log line, and never answers a plain-text 500.

    X-Request-Id   on every response; the audit record (when there is one) has the same
    hub.access     one line per request: method, route, status, milliseconds, request
                   id. The route as it is written (`/desk{rest:path}`), never the path
                   itself (a path is the caller's text, and could hold an ID number), a
                   query string or a header's value; a path no route serves is `(other)`.
                   It replaces uvicorn's access log, which writes the query string
                   (`hub/serving.py` turns that off).
    500            anything unexpected is logged with its traceback under the request id,
                   and the caller gets `{"error": "internal_error", …}` naming that id.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Sequence
from contextvars import ContextVar

from opentelemetry import propagate
from opentelemetry.trace import SpanKind
from opentelemetry.trace import use_span as trace_use_span
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kernel import errors
from kernel.metrics import HTTP_DURATION, HTTP_REQUESTS
from kernel.tracing import tracer

REQUEST_ID_HEADER = b"x-request-id"
OTHER_PATH = "(other)"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods named in metrics; any other is `OTHER` (a method is the caller's text)."""
_TRACE_HEADERS = (b"traceparent", b"tracestate")

_request_id: ContextVar[str | None] = ContextVar("hub_request_id", default=None)


def current_request_id() -> str | None:
    """The id of the request being answered (log lines carry it)."""
    return _request_id.get()


access_log = logging.getLogger("hub.access")
log = logging.getLogger("hub.errors")


class Edge:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = uuid.uuid4().hex
        scope["request_id"] = request_id
        token = _request_id.set(request_id)
        status: int | None = None
        route = self._route(scope)
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        span = tracer.start_span(
            f"{method} {route}",
            context=propagate.extract(carrier),
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "http.route": route},
        )

        async def send_with_id(message: Message) -> None:
            nonlocal status, request_id
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", ()))
                given = next((v for k, v in headers if k.lower() == REQUEST_ID_HEADER), None)
                if given is None:
                    headers.append((REQUEST_ID_HEADER, request_id.encode()))
                    message = {**message, "headers": headers}
                else:
                    request_id = given.decode("latin-1")
            await send(message)

        # current for the app below, detached and ended in this task whatever happens
        with trace_use_span(span, end_on_exit=True):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception:  # the last line of defence: whatever it was, answer in JSON
                log.exception("unexpected error in request %s", request_id)
                if status is None:
                    status = 500
                    await _internal_error(send, request_id)
            finally:
                elapsed = time.perf_counter() - started
                access_log.info(
                    "%s %s %s %.1f ms %s",
                    method,
                    route,
                    status if status is not None else "-",
                    elapsed * 1000,
                    request_id,
                    extra={"request_id": request_id},
                )
                HTTP_REQUESTS.labels(route, method, str(status or 0)).inc()
                HTTP_DURATION.labels(route).observe(elapsed)
                span.set_attribute("http.response.status_code", status or 0)
                _request_id.reset(token)

    def _route(self, scope: Scope) -> str:
        for route in self.routes:
            if route.matches(scope)[0] is not Match.NONE:
                return str(getattr(route, "path", OTHER_PATH))
        return OTHER_PATH


async def _internal_error(send: Send, request_id: str) -> None:
    body = json.dumps(
        {
            "error": errors.INTERNAL_ERROR,
            "error_description": f"internal error; quote request {request_id} to the operator",
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (REQUEST_ID_HEADER, request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": 500, "headers": headers})
    await send({"type": "http.response.body", "body": body})
