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
    workers' start-up      `--workers N`: a new worker has HUB_LIMITS_WORKER_START_SECONDS
                           to import the hub and answer its first health check, and the
                           wait is logged (uvicorn's 5 s killed workers still importing on a
                           loaded machine, for ever, saying only "Child process died");
                           once it has answered, uvicorn's own liveness check applies
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any, Final

import h11
import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import Process

from hub import telemetry
from hub.edge import REQUEST_ID_HEADER, access_log
from hub.limits import Limits
from kernel import errors

HEADER_TIMEOUT_ATTRIBUTE: Final = "hub_header_timeout_seconds"
"""Where the protocol finds its deadline on uvicorn's Config (pickled to each worker)."""
START_LOG_EVERY_SECONDS: Final = 5.0
"""How often a worker still starting is reported."""

log = logging.getLogger(__name__)
supervisor_log = logging.getLogger("uvicorn.error")
"""The supervisor's lines go where uvicorn's own do."""


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
        self.access_log = False  # uvicorn's line holds the query string; `hub.access` logs
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
        self.access_log = False  # uvicorn's line holds the query string; `hub.access` logs
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
    log_config: dict[str, Any] | None = None,
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
        log_config=log_config if log_config is not None else uvicorn.config.LOGGING_CONFIG,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=limits.keep_alive_seconds,
        http=protocol,
    )
    setattr(config, HEADER_TIMEOUT_ATTRIBUTE, limits.header_timeout_seconds)
    return config


class _Starting:
    """A worker that has not yet answered a health check: one ping sent, read without
    blocking on each round of the supervisor's loop."""

    def __init__(self) -> None:
        self.since = time.monotonic()
        self.pinged = False
        self.reported = 0.0


class Workers(Multiprocess):
    """uvicorn's supervisor with a start-up check: a new worker is given `start_seconds`
    (not uvicorn's 5) to answer its first ping, is reported while it takes long, and is
    restarted with a log line naming the setting when it does not answer in time.

    A spawned worker imports the hub before its health-check thread runs; on two cores
    shared with a loaded database that took longer than 5 s, and uvicorn killed and
    respawned every worker for ever."""

    def __init__(self, config: uvicorn.Config, sockets: list[Any], start_seconds: float) -> None:
        super().__init__(config, sockets)
        self.start_seconds = start_seconds
        self._starting: dict[int, _Starting] = {}

    def _still_starting(self, process: Process) -> bool:
        """True while `process` is within its start-up time and has not answered yet."""
        state = self._starting.setdefault(id(process), _Starting())
        if state.since < 0:
            return False  # answered once: uvicorn's liveness check from now on
        if not process.process.is_alive():
            return False
        try:
            if not state.pinged:
                process.parent_conn.send(b"ping")
                state.pinged = True
            if process.parent_conn.poll(0):
                process.parent_conn.recv()
                waited = time.monotonic() - state.since
                if waited >= START_LOG_EVERY_SECONDS:
                    supervisor_log.info("worker [%s] started after %.1f s", process.pid, waited)
                state.since = -1.0
                return False
        except (OSError, EOFError):
            return False
        waited = time.monotonic() - state.since
        if waited < self.start_seconds:
            if waited - state.reported >= START_LOG_EVERY_SECONDS:
                state.reported = waited
                supervisor_log.info(
                    "worker [%s] still starting after %.0f s (waiting up to %g s, "
                    "HUB_LIMITS_WORKER_START_SECONDS)",
                    process.pid,
                    waited,
                    self.start_seconds,
                )
            return True
        supervisor_log.error(
            "worker [%s] did not start within %g s (HUB_LIMITS_WORKER_START_SECONDS); "
            "restarting it",
            process.pid,
            self.start_seconds,
        )
        return False

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for idx, process in enumerate(self.processes):
            if self._still_starting(process):
                continue
            started = self._starting[id(process)].since < 0
            if started and process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            del self._starting[id(process)]
            process.kill()
            process.join()
            telemetry.process_ended(process.pid)  # its last audit queue depth no longer adds up
            if process.exitcode == STARTUP_FAILURE:
                supervisor_log.error("worker [%s] failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            supervisor_log.info(
                "worker [%s] died (exit code %s); starting another", process.pid, process.exitcode
            )
            process = Process(self.config, self.sockets)
            process.start()
            self.processes[idx] = process


def run(config: uvicorn.Config, *, worker_start_seconds: float = 120.0) -> None:
    """What `uvicorn.run` does with a Config of ours: one process, or `workers` of them
    sharing one socket under `Workers`."""
    server = uvicorn.Server(config)
    if config.workers > 1:
        sock = config.bind_socket()
        try:
            Workers(config, [sock], worker_start_seconds).run()
        finally:
            sock.close()
    else:
        server.run()
