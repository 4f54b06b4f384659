"""How the hub's processes are served (`hub serve`, `hub connector serve`): uvicorn, with
what it lacks for a service on an open network.

    a request's head       must arrive within HUB_LIMITS_HEADER_TIMEOUT_SECONDS of the
                           connection opening or of the previous response (uvicorn has
                           no such deadline: a client trickling a header a byte at a time,
                           or sending nothing at all, held a connection forever); then a
                           408 and the connection closes
    an idle connection     closes after HUB_LIMITS_KEEP_ALIVE_SECONDS (uvicorn's own)
    a request's body       has its deadline where it is read (`auth.bodies`)
    malformed HTTP         a JSON 400 with a request id, like every other refusal
                           (uvicorn answers those in plain text)
    access log             uvicorn's is off: it writes the query string; `hub.edge` logs
                           each request without one
    proxy headers          uvicorn's are off (it trusts 127.0.0.1 by default); the
                           application honours X-Forwarded-* from HUB_SOURCES_TRUSTED_PROXIES
                           only (`hub.limits.sources`)
    Server header          not sent
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Any, Final

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from hub.edge import REQUEST_ID_HEADER, access_log
from hub.limits import Limits
from kernel import errors

HEADER_TIMEOUT_ATTRIBUTE: Final = "hub_header_timeout_seconds"
"""Where the protocol finds its deadline on uvicorn's Config (pickled to each worker)."""

log = logging.getLogger(__name__)


def raw_refusal(status: int, reason: str, code: str, description: str) -> bytes:
    """A whole HTTP response written straight to the socket, before any application ran:
    the JSON refusal body every layer answers with, a request id, and `Connection: close`."""
    request_id = uuid.uuid4().hex
    access_log.info("- - %d 0.0 ms %s", status, request_id)
    body = json.dumps({"error": code, "error_description": description}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n"
        "cache-control: no-store\r\n"
        f"{REQUEST_ID_HEADER.decode()}: {request_id}\r\n"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class _HeadDeadline:
    """Mixed into uvicorn's protocols: a timer armed while the server waits for a
    request's head, cancelled once the head is complete."""

    transport: asyncio.Transport
    config: uvicorn.Config
    _head_timer: asyncio.TimerHandle | None = None

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        if self.transport.is_closing():
            return
        seconds = getattr(self.config, HEADER_TIMEOUT_ATTRIBUTE, None)
        if seconds:
            loop = asyncio.get_running_loop()
            self._head_timer = loop.call_later(seconds, self._head_timed_out, seconds)

    def _cancel_head_deadline(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self, seconds: float) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.write(
                raw_refusal(
                    408,
                    "Request Timeout",
                    errors.BODY_TIMEOUT,
                    f"the request's head did not arrive within {seconds:g} s",
                )
            )
            self.transport.close()

    def _send_json_400(self) -> None:
        self.transport.write(
            raw_refusal(400, "Bad Request", errors.INVALID_REQUEST, "malformed HTTP request")
        )
        self.transport.close()


class HttpToolsWithDeadline(_HeadDeadline, HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def on_headers_complete(self) -> None:
        self._cancel_head_deadline()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a head already complete, its request queued
        super().on_response_complete()
        if not waiting:
            self._arm_head_deadline()

    def send_400_response(self, msg: str) -> None:
        self._send_json_400()


class H11WithDeadline(_HeadDeadline, H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()

    def send_400_response(self, msg: str) -> None:
        self._send_json_400()


def server_config(
    app: Any,
    limits: Limits,
    *,
    host: str,
    port: int,
    workers: int | None = None,
    factory: bool = False,
    log_level: str = "info",
    http: str = "httptools",
) -> uvicorn.Config:
    """uvicorn's Config for a hub process (`http`: "httptools", or "h11" where httptools
    is not installed)."""
    protocol = HttpToolsWithDeadline if http == "httptools" else H11WithDeadline
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=workers,
        factory=factory,
        log_level=log_level,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=limits.keep_alive_seconds,
        http=protocol,
    )
    setattr(config, HEADER_TIMEOUT_ATTRIBUTE, limits.header_timeout_seconds)
    return config


def run(config: uvicorn.Config) -> None:
    """What `uvicorn.run` does with a Config of ours: one process, or `workers` of them
    sharing one socket."""
    server = uvicorn.Server(config)
    if config.workers > 1:
        sock = config.bind_socket()
        try:
            Multiprocess(config, sockets=[sock]).run()
        finally:
            sock.close()
    else:
        server.run()
