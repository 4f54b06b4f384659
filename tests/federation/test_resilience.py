"""How the hub treats an agency's service that misbehaves: a real HTTP server that fails,
stalls or answers garbage on command, called through `RemoteAgency` with the hub's real
client-credentials token."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from conftest import RunningHub, _free_port, serving
from connectors.remote import (
    CircuitBreaker,
    ClientCredentials,
    RemoteAgency,
    RemotePolicy,
    WireError,
    decode,
    encode,
)
from kernel.errors import ConnectorTimeout, ConnectorUnavailable
from kernel.scopes import CONNECTOR_LOAD

ONE_CALL = [{"loader": "worker", "keys": ["x"]}]

# The in-process hub serves only as the token issuer here: one backend is enough.
ISSUED_BY_SQLITE_HUB = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


@dataclass
class Script:
    """What the service answers next: a queue of behaviours, then `otherwise`."""

    queue: list[str] = field(default_factory=list)
    otherwise: str = "ok"
    requests: int = 0
    tokens: list[str] = field(default_factory=list)

    def next(self) -> str:
        return self.queue.pop(0) if self.queue else self.otherwise


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def service(script: Script) -> Iterator[str]:
    async def load(request: Request) -> Response:
        script.requests += 1
        script.tokens.append(request.headers.get("authorization", ""))
        behaviour = script.next()
        if behaviour == "ok":
            return JSONResponse({"results": [[{"$row": {"id_number": "x", "name": "张三"}}]]})
        if behaviour == "stall":
            await asyncio.sleep(5)
        if behaviour == "garbage":
            return PlainTextResponse("<html>maintenance</html>")
        if behaviour == "wrong-count":
            return JSONResponse({"results": []})
        if behaviour == "refuse-token":
            return JSONResponse({"error": "invalid_token"}, status_code=401)
        return JSONResponse({"error": "unavailable"}, status_code=int(behaviour))

    async def readyz(request: Request) -> Response:
        return JSONResponse({"status": "ready"})

    app = Starlette(
        routes=[
            Route("/connector/load", load, methods=["POST"]),
            Route("/readyz", readyz),
        ]
    )
    with serving(app) as url:
        yield url


def _agency(
    http: httpx.AsyncClient, hub: RunningHub, url: str, policy: RemotePolicy, issuer: str = ""
) -> RemoteAgency:
    """A remote agency at `url`, called with the hub's real client-credentials token."""
    tokens = ClientCredentials(
        http, f"{issuer or hub.url}/oauth/token", "hub", hub.secrets["hub"], CONNECTOR_LOAD
    )
    return RemoteAgency("housing", f"{url}/graphql", http, tokens, policy)


def _call(hub: RunningHub, url: str, policy: RemotePolicy, issuer: str = "") -> list[object]:
    """One call's result or exception, then the circuit's state."""

    async def run() -> list[object]:
        async with httpx.AsyncClient() as http:
            agency = _agency(http, hub, url, policy, issuer)
            try:
                outcome: object = await agency.call(ONE_CALL, None)
            except (ConnectorUnavailable, ConnectorTimeout) as error:
                outcome = error
            return [outcome, agency.breaker.state]

    return asyncio.run(run())


@ISSUED_BY_SQLITE_HUB
def test_a_passing_failure_is_retried(hub: RunningHub, service: str, script: Script) -> None:
    script.queue = ["503", "502"]
    [result, state] = _call(hub, service, RemotePolicy(retries=2))
    assert isinstance(result, list)
    assert result[0][0].name == "张三"
    assert script.requests == 3
    assert len(set(script.tokens)) == 1  # the token is kept, not fetched per attempt
    assert state == "closed"


@ISSUED_BY_SQLITE_HUB
def test_retries_are_bounded(hub: RunningHub, service: str, script: Script) -> None:
    script.otherwise = "503"
    [error, _] = _call(hub, service, RemotePolicy(retries=2))
    assert isinstance(error, ConnectorUnavailable)
    assert error.details == {"connector": "housing"}
    assert "HTTP 503" in error.message
    assert script.requests == 3


@ISSUED_BY_SQLITE_HUB
def test_a_refusal_is_not_retried(hub: RunningHub, service: str, script: Script) -> None:
    script.otherwise = "400"
    [error, _] = _call(hub, service, RemotePolicy(retries=2))
    assert isinstance(error, ConnectorUnavailable)
    assert script.requests == 1


@pytest.mark.parametrize("behaviour", ["garbage", "wrong-count"])
@ISSUED_BY_SQLITE_HUB
def test_garbage_is_unavailable_not_data(
    hub: RunningHub, service: str, script: Script, behaviour: str
) -> None:
    script.otherwise = behaviour
    [error, _] = _call(hub, service, RemotePolicy(retries=2))
    assert isinstance(error, ConnectorUnavailable)
    assert "connector response" in error.message or "match" in error.message
    assert script.requests == 1


@ISSUED_BY_SQLITE_HUB
def test_a_stalled_service_times_out_at_the_deadline(
    hub: RunningHub, service: str, script: Script
) -> None:
    script.otherwise = "stall"
    started = time.monotonic()
    [error, _] = _call(hub, service, RemotePolicy(timeout_seconds=0.5, retries=2))
    assert isinstance(error, ConnectorTimeout)
    assert error.code == "CONNECTOR_TIMEOUT"
    assert time.monotonic() - started < 3  # the deadline, plus getting the token


@ISSUED_BY_SQLITE_HUB
def test_a_refused_token_is_replaced_once(hub: RunningHub, service: str, script: Script) -> None:
    script.queue = ["refuse-token"]
    [result, _] = _call(hub, service, RemotePolicy(retries=2))
    assert isinstance(result, list)
    first, second = script.tokens
    assert first.startswith("Bearer ")
    assert first != second  # a fresh token was fetched after the 401


@ISSUED_BY_SQLITE_HUB
def test_no_token_from_the_issuer_is_unavailable_not_a_crash(
    hub: RunningHub, service: str, script: Script
) -> None:
    [error, _] = _call(hub, service, RemotePolicy(), issuer=f"http://127.0.0.1:{_free_port()}")
    assert isinstance(error, ConnectorUnavailable)
    assert "no token" in error.message
    assert script.requests == 0


@ISSUED_BY_SQLITE_HUB
def test_the_circuit_opens_fails_fast_and_a_probe_closes_it(
    hub: RunningHub, service: str, script: Script
) -> None:
    script.otherwise = "503"
    policy = RemotePolicy(retries=0, breaker_failures=2, breaker_seconds=0.5)

    async def run() -> None:
        async with httpx.AsyncClient() as http:
            agency = _agency(http, hub, service, policy)
            for _ in range(2):
                with pytest.raises(ConnectorUnavailable):
                    await agency.call(ONE_CALL, None)
            assert agency.breaker.state == "open"
            asked = script.requests
            with pytest.raises(ConnectorUnavailable, match="circuit open"):
                await agency.call(ONE_CALL, None)
            assert script.requests == asked  # not even asked
            await asyncio.sleep(0.6)
            script.otherwise = "ok"
            assert await agency.call(ONE_CALL, None)  # the probe
            assert agency.breaker.state == "closed"
            assert script.requests == asked + 1

    asyncio.run(run())


def test_a_failed_probe_opens_the_circuit_again() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failures=3, reset_seconds=10, clock=lambda: now[0])
    for _ in range(3):
        assert breaker.admit()
        breaker.failed()
    assert not breaker.admit()
    now[0] = 10.0
    assert breaker.admit()  # one probe
    assert breaker.state == "half-open"
    assert not breaker.admit()  # and only one
    breaker.failed()
    assert breaker.state == "open"
    now[0] = 15.0
    assert not breaker.admit()
    assert breaker.retry_after() == 5.0
    now[0] = 20.0
    assert breaker.admit()
    breaker.succeeded()
    assert breaker.state == "closed"
    assert breaker.admit()


def test_the_wire_keeps_types() -> None:
    values = [
        date(2026, 10, 1),
        datetime(2026, 10, 1, 8, 30, tzinfo=UTC),
        Decimal("12.50"),
        ("410183202503171901", "2026-10"),
        [None, True, 3, "（2026）豫0183民初1024号"],
    ]
    assert decode(encode(values)) == values
    assert type(decode(encode(values))[3]) is tuple


@pytest.mark.parametrize(
    "message",
    [{"$date": "yesterday"}, {"$eval": "1"}, {"$row": ["x"]}, {"$date": 1, "$tuple": []}],
)
def test_the_wire_refuses_malformed_values(message: object) -> None:
    with pytest.raises(WireError):
        decode(message)
