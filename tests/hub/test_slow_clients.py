"""Slow clients on a real socket: a request's head that trickles in (or never comes) and a
body that trickles in are cut off with a 408 and a closed connection, on both of
uvicorn's HTTP parsers; a prompt client on a kept-alive connection is unaffected."""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from auth.store import Grant
from conftest import TEST_PURPOSE, migrated_settings, serving
from hub.app import create_app
from hub.limits import Limits
from kernel.scopes import vocabulary

HEAD_SECONDS = 0.5
BODY_SECONDS = 1.0
PATIENCE = 10.0
"""How long a test waits for the server to cut a connection: far longer than the
deadlines, so a loaded machine cannot make it flaky; a server that never cuts fails."""
CLIENT = "slow-client"


@pytest.fixture(scope="module", params=["httptools", "h11"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[tuple[str, int], str]]:
    """A hub with short deadlines: its address, and the client's secret."""
    limits = Limits(header_timeout_seconds=HEAD_SECONDS, body_timeout_seconds=BODY_SECONDS)
    # copies of the SQLite databases this test process migrated once
    settings = migrated_settings(
        "sqlite", Path(tmp_path_factory.mktemp("slow")), "slow", limits=limits
    )
    app = create_app(settings)
    secret = app.state.auth_store.add_client(CLIENT, Grant("test", vocabulary(), (TEST_PURPOSE,)))
    with serving(app, limits, http=request.param) as url:
        parts = urlsplit(url)
        assert parts.hostname
        assert parts.port
        yield (parts.hostname, parts.port), secret


def _connect(address: tuple[str, int]) -> socket.socket:
    connection = socket.create_connection(address, timeout=PATIENCE)
    connection.settimeout(PATIENCE)
    return connection


def _until_closed(connection: socket.socket, trickle: bytes = b"", every: float = 0.1) -> bytes:
    """Everything the server sends until it closes the connection, while sending it
    `trickle` one byte at a time; fails if it is still open after PATIENCE seconds."""
    received = bytearray()
    connection.setblocking(False)
    deadline = time.monotonic() + PATIENCE
    pending = list(trickle)
    try:
        while time.monotonic() < deadline:
            if pending:
                try:
                    connection.send(bytes([pending.pop(0)]))
                except OSError:  # closed under us: read what was sent before
                    pending.clear()
            time.sleep(every)
            try:
                chunk = connection.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                return bytes(received)
            if not chunk:
                return bytes(received)
            received.extend(chunk)
        pytest.fail(f"the server held the connection for {PATIENCE} s: {bytes(received)!r}")
    finally:
        connection.close()


def _refusal(response: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert b"x-request-id: " in head.lower(), head
    return status, json.loads(body)


def test_a_connection_that_sends_nothing_is_closed(
    served: tuple[tuple[str, int], str],
) -> None:
    address, _ = served
    status, body = _refusal(_until_closed(_connect(address)))
    assert status == 408
    assert body["error"] == "request_timeout"


def test_a_head_sent_a_byte_at_a_time_is_cut_off(served: tuple[tuple[str, int], str]) -> None:
    address, _ = served
    head = b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Slow: " + b"a" * 200
    status, body = _refusal(_until_closed(_connect(address), head, every=0.05))
    assert status == 408
    assert "head" in str(body["error_description"])


def _token(address: tuple[str, int], secret: str) -> str:
    connection = _connect(address)
    form = b"grant_type=client_credentials"
    basic = base64.b64encode(f"{CLIENT}:{secret}".encode()).decode()
    connection.sendall(
        b"POST /oauth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        + f"Authorization: Basic {basic}\r\nContent-Length: {len(form)}\r\n\r\n".encode()
        + form
    )
    response = _until_closed(connection)
    return str(json.loads(response.partition(b"\r\n\r\n")[2])["access_token"])


@pytest.mark.parametrize("path", ["/graphql", "/oauth/token", "/open.api"])
def test_a_body_sent_a_byte_at_a_time_is_cut_off(
    served: tuple[tuple[str, int], str], path: str
) -> None:
    address, secret = served
    body = json.dumps({"query": "{ __typename }", "padding": "x" * 200}).encode()
    kind = "application/json" if path == "/graphql" else "application/x-www-form-urlencoded"
    if path == "/open.api":  # the national interface's uploaders post a form, unauthenticated
        body = b"appid=1&data=" + b"x" * 200
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n"
        f"Authorization: Bearer {_token(address, secret)}\r\nX-Purpose: {TEST_PURPOSE}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    connection = _connect(address)
    connection.sendall(head)
    status, refusal = _refusal(_until_closed(connection, body, every=0.05))
    assert status == 408
    assert refusal["error"] == "request_timeout"


def test_a_prompt_client_keeps_its_connection_across_requests(
    served: tuple[tuple[str, int], str],
) -> None:
    """The head deadline is re-armed after each response and cut only by slowness: two
    requests on one connection, the second after a pause shorter than the keep-alive."""
    address, _ = served
    connection = _connect(address)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    try:
        for _ in range(2):
            connection.sendall(request)
            response = connection.recv(65536)
            assert response.startswith(b"HTTP/1.1 200"), response
            time.sleep(HEAD_SECONDS / 2)
    finally:
        connection.close()
