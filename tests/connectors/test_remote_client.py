"""How the hub's client treats an agency's service that misbehaves (`connectors.remote`),
on `httpx.MockTransport`: the service and its token issuer are a handler scripted per
test, so each failure happens exactly when the test says, with no server, no sleeping and
no clock but the one injected. That the real thing works across processes is
`tests/federation/test_remote*.py`'s to prove."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from connectors import wire
from connectors.base import discover
from connectors.credentials import ClientCredentials
from connectors.remote import RemoteTransport
from connectors.resilience import RemotePolicy
from connectors.transport import NotInProcess
from kernel.caller import Caller
from kernel.errors import BadUserInput, ConnectorTimeout, ConnectorUnavailable
from kernel.scopes import CONNECTOR_LOAD

ONE_CALL = [{"loader": "worker", "keys": ["x"]}]
ZHANG = {"results": [[{"$row": {"id_number": "x", "name": "张三"}}]]}
QUICK = RemotePolicy(retries=2, backoff_seconds=0, breaker_failures=5, breaker_seconds=10)

Behaviour = Callable[[httpx.Request], Awaitable[httpx.Response]]


async def ok(request: httpx.Request) -> httpx.Response:
    calls = json.loads(request.content)["calls"]
    return httpx.Response(200, json={"results": ZHANG["results"] * len(calls)})


def status(code: int) -> Behaviour:
    async def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, json={"error": "scripted"})

    return answer


async def garbage(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text="<html>maintenance</html>")


async def wrong_count(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"results": []})


async def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def ready(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"status": "ready"})


@dataclass(frozen=True)
class Named:
    """Stands for a declared look-up or list query: the wire carries only its name."""

    name: str


@dataclass
class Service:
    """An agency's service and the hub's token issuer behind one mock: `/connector/load`
    answers with the queued behaviours, then `otherwise`."""

    queue: list[Behaviour] = field(default_factory=list)
    otherwise: Behaviour = ok
    issuer: Behaviour | None = None
    readyz: Behaviour = ready
    loads: list[httpx.Request] = field(default_factory=list)
    tokens_issued: int = 0
    token_forms: list[dict[str, str]] = field(default_factory=list)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            if self.issuer is not None:
                return await self.issuer(request)
            self.token_forms.append(dict(parse_qsl(request.content.decode())))
            self.tokens_issued += 1
            return httpx.Response(
                200, json={"access_token": f"token-{self.tokens_issued}", "expires_in": 300}
            )
        if request.url.path == "/readyz":
            return await self.readyz(request)
        assert request.url.path == "/connector/load"
        self.loads.append(request)
        return await (self.queue.pop(0) if self.queue else self.otherwise)(request)

    @property
    def bearers(self) -> list[str]:
        return [request.headers["authorization"] for request in self.loads]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _transport(
    service: Service, policy: RemotePolicy = QUICK, clock: Clock | None = None
) -> RemoteTransport:
    http = httpx.AsyncClient(transport=httpx.MockTransport(service))
    tokens = ClientCredentials(http, "http://hub/oauth/token", "hub", "secret", CONNECTOR_LOAD)
    return RemoteTransport(
        "housing", "http://housing/graphql", http, tokens, policy, clock or Clock()
    )


def _call(service: Service, policy: RemotePolicy = QUICK) -> tuple[Any, str]:
    """One call's result or exception, then the circuit's state."""

    async def run() -> tuple[Any, str]:
        transport = _transport(service, policy)
        try:
            outcome: Any = await transport.call(ONE_CALL, None)
        except (ConnectorUnavailable, ConnectorTimeout) as error:
            outcome = error
        finally:
            await transport.http.aclose()
        return outcome, transport.breaker.state

    return asyncio.run(run())


def test_a_passing_failure_is_retried() -> None:
    service = Service(queue=[status(503), status(502)])
    result, state = _call(service)
    assert result[0][0].name == "张三"
    assert len(service.loads) == 3
    assert service.tokens_issued == 1  # the token is kept, not fetched per attempt
    assert state == "closed"


def test_a_connection_error_is_retried_too() -> None:
    service = Service(queue=[unreachable])
    result, _ = _call(service)
    assert result[0][0].name == "张三"
    assert len(service.loads) == 2


def test_retries_are_bounded() -> None:
    service = Service(otherwise=status(503))
    error, _ = _call(service)
    assert isinstance(error, ConnectorUnavailable)
    assert error.details == {"connector": "housing"}
    assert "HTTP 503" in error.message
    assert len(service.loads) == 3


def test_a_refusal_is_not_retried() -> None:
    service = Service(otherwise=status(400))
    error, _ = _call(service)
    assert isinstance(error, ConnectorUnavailable)
    assert "refused the call (HTTP 400)" in error.message
    assert len(service.loads) == 1


@pytest.mark.parametrize("behaviour", [garbage, wrong_count])
def test_garbage_is_unavailable_not_data(behaviour: Behaviour) -> None:
    service = Service(otherwise=behaviour)
    error, _ = _call(service)
    assert isinstance(error, ConnectorUnavailable)
    assert "not a connector response" in error.message
    assert len(service.loads) == 1


def test_a_stalled_service_times_out_at_the_deadline() -> None:
    never = asyncio.Event()

    async def stall(request: httpx.Request) -> httpx.Response:
        await never.wait()
        raise AssertionError("the deadline cancels the call first")

    service = Service(otherwise=stall)
    error, _ = _call(service, RemotePolicy(timeout_seconds=0.01, backoff_seconds=0))
    assert isinstance(error, ConnectorTimeout)
    assert error.code == "CONNECTOR_TIMEOUT"
    assert error.details == {"connector": "housing"}
    assert len(service.loads) == 1  # stalled, not retried


def test_a_refused_token_is_replaced_once() -> None:
    service = Service(queue=[status(401)])
    result, _ = _call(service)
    assert result[0][0].name == "张三"
    assert service.bearers == ["Bearer token-1", "Bearer token-2"]


def test_no_token_from_the_issuer_is_unavailable_not_a_crash() -> None:
    service = Service(issuer=status(500))
    error, _ = _call(service)
    assert isinstance(error, ConnectorUnavailable)
    assert "no token" in error.message
    assert service.loads == []


def test_an_unreachable_issuer_is_unavailable_too() -> None:
    service = Service(issuer=unreachable)
    error, _ = _call(service)
    assert isinstance(error, ConnectorUnavailable)
    assert "ConnectError from its issuer" in error.message


def test_the_circuit_opens_fails_fast_and_a_probe_closes_it() -> None:
    service = Service(otherwise=status(503))
    clock = Clock()
    policy = RemotePolicy(retries=0, backoff_seconds=0, breaker_failures=2, breaker_seconds=5)

    async def run() -> None:
        transport = _transport(service, policy, clock)
        for _ in range(2):
            with pytest.raises(ConnectorUnavailable):
                await transport.call(ONE_CALL, None)
        assert transport.breaker.state == "open"
        asked = len(service.loads)
        with pytest.raises(ConnectorUnavailable, match="circuit open"):
            await transport.call(ONE_CALL, None)
        assert len(service.loads) == asked  # not even asked
        clock.now = 5.0
        service.otherwise = ok
        assert await transport.call(ONE_CALL, None)  # the probe
        assert transport.breaker.state == "closed"
        assert len(service.loads) == asked + 1
        await transport.http.aclose()

    asyncio.run(run())


def test_one_waves_calls_travel_in_one_request_for_the_caller() -> None:
    """A session gathers the calls of one batching wave into one HTTP request, and tells
    the agency whom the request is for: with the caller's token exchanged for one the
    agency accepts (kept for the next request), and the caller's purpose (in UTF-8:
    purposes are often Chinese)."""
    service = Service()
    caller = Caller(
        "mediation-xinmi",
        purpose="劳动争议调解",
        purpose_reference="（2026）豫0183民初1号",
        credential="the-callers-token",
    )

    async def run() -> list[Any]:
        transport = _transport(service)
        session = transport.session(caller)
        answers = await asyncio.gather(
            session.load(Named("worker"), ["x"]),
            session.load(Named("contracts_by_worker"), ["x", "y"]),
            session.query(Named("active_workers_in_region"), ("4101", None, 20)),
        )
        await transport.session(caller).load(Named("worker"), ["z"])
        await transport.http.aclose()
        return answers

    answers = asyncio.run(run())
    assert len(answers) == 3
    [exchange] = service.token_forms  # once for both requests
    assert exchange == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": "the-callers-token",
        "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
        "audience": "housing",
    }
    assert service.bearers == ["Bearer token-1", "Bearer token-1"]
    request = service.loads[0]
    assert json.loads(request.content)["calls"] == [
        {"loader": "worker", "keys": ["x"]},
        {"loader": "contracts_by_worker", "keys": ["x", "y"]},
        {"query": "active_workers_in_region", "args": ["4101", None, 20]},
    ]
    assert "x-caller-client-id" not in request.headers
    assert dict(request.headers.raw)[b"x-purpose"].decode() == "劳动争议调解"
    assert dict(request.headers.raw)[b"x-purpose-reference"].decode() == "（2026）豫0183民初1号"


def test_every_call_of_a_failed_request_fails_alike() -> None:
    service = Service(otherwise=status(400))

    async def run() -> list[Any]:
        transport = _transport(service)
        session = transport.session(None)
        outcomes = await asyncio.gather(
            session.load(Named("worker"), ["x"]),
            session.load(Named("project"), ["p"]),
            return_exceptions=True,
        )
        await transport.http.aclose()
        return outcomes

    first, second = asyncio.run(run())
    assert isinstance(first, ConnectorUnavailable)
    assert second is first
    assert len(service.loads) == 1


@pytest.mark.parametrize(("answer", "is_ready"), [(ready, True), (status(503), False)])
def test_readiness_is_the_services_own(answer: Behaviour, is_ready: bool) -> None:
    service = Service(readyz=answer)

    async def run() -> None:
        transport = _transport(service)
        try:
            await transport.check_health()
        finally:
            await transport.http.aclose()

    if is_ready:
        asyncio.run(run())
    else:
        with pytest.raises(ConnectorUnavailable, match="readyz answered HTTP 503"):
            asyncio.run(run())


def test_a_remote_agencys_database_is_not_this_processs() -> None:
    """`hub migrate` and `hub seed` work on local agencies only; asking a remote one for
    its database is a clear error, not a default SQLite file."""
    connector = discover()[0](_transport(Service()))
    assert repr(connector).endswith("at http://housing>")
    with pytest.raises(NotInProcess, match="at http://housing"):
        _ = connector.database


@pytest.mark.parametrize("code", [400, 413, 422, 429])
def test_a_refusal_caused_by_the_request_does_not_open_the_circuit(code: int) -> None:
    """One client's oversized or malformed request is refused by the agency: that request
    fails, but the agency is not marked failing for everyone else."""
    service = Service(otherwise=status(code))
    policy = RemotePolicy(retries=0, backoff_seconds=0, breaker_failures=2, breaker_seconds=10)

    async def run() -> None:
        transport = _transport(service, policy)
        for _ in range(5):
            with pytest.raises(ConnectorUnavailable, match=f"HTTP {code}"):
                await transport.call(ONE_CALL, None)
        assert transport.breaker.state == "closed"
        service.otherwise = ok
        assert await transport.call(ONE_CALL, None)
        await transport.http.aclose()

    asyncio.run(run())


MAX_BODY = 4_096


async def strict(request: httpx.Request) -> httpx.Response:
    """An agency that enforces the wire's limits, as `connectors.serving` does, and
    echoes each loader's keys (one row each) and each query's argument's length."""
    if len(request.content) > MAX_BODY:
        return httpx.Response(413, json={"error": "request_too_large"})
    calls = json.loads(request.content)["calls"]
    if len(calls) > wire.MAX_CALLS_PER_REQUEST:
        return httpx.Response(400, json={"error": "invalid_request"})
    results = []
    for call in calls:
        if "loader" in call:
            if len(call["keys"]) > wire.MAX_KEYS_PER_CALL:
                return httpx.Response(400, json={"error": "invalid_request"})
            results.append([{"$row": {"key": key}} for key in call["keys"]])
        else:
            results.append([{"$row": {"length": len(call["args"][0])}}])
    return httpx.Response(200, json={"results": results})


def test_a_wave_is_split_to_fit_the_agencys_limits() -> None:
    """Three list queries with large arguments, a look-up of more keys than a call may
    carry and more calls than a request may: split over requests that each fit, and
    answered as one wave would be."""
    service = Service(otherwise=strict)
    policy = RemotePolicy(retries=0, backoff_seconds=0, max_body_bytes=MAX_BODY)
    many_keys = [f"k{i}" for i in range(wire.MAX_KEYS_PER_CALL + 5)]
    small = [{"loader": "worker", "keys": [f"s{i}"]} for i in range(wire.MAX_CALLS_PER_REQUEST)]
    calls = [
        *({"query": "workers_page", "args": ["x" * 1_500]} for _ in range(3)),
        {"loader": "worker", "keys": many_keys},
        *small,
    ]

    async def run() -> list[Any]:
        transport = _transport(service, policy)
        try:
            return await transport.call(calls, None)
        finally:
            await transport.http.aclose()

    results = asyncio.run(run())
    assert len(results) == len(calls)
    assert [rows[0].length for rows in results[:3]] == [1_500] * 3
    assert [row.key for row in results[3]] == many_keys
    assert [rows[0].key for rows in results[4:]] == [f"s{i}" for i in range(len(small))]
    assert all(len(request.content) <= MAX_BODY for request in service.loads)
    assert len(service.loads) > 3


def test_a_call_too_large_for_the_agency_alone_is_the_callers_error() -> None:
    service = Service(otherwise=strict)
    policy = RemotePolicy(retries=0, backoff_seconds=0, breaker_failures=1, max_body_bytes=MAX_BODY)

    async def run() -> str:
        transport = _transport(service, policy)
        try:
            with pytest.raises(BadUserInput, match="larger than housing accepts"):
                await transport.call([{"query": "workers_page", "args": ["x" * MAX_BODY]}], None)
            return transport.breaker.state
        finally:
            await transport.http.aclose()

    assert asyncio.run(run()) == "closed"
    assert service.loads == []


def test_a_caller_without_a_token_of_its_own_gets_one_minted_else_the_process_reads() -> None:
    """A desk session or a webhook's client has no bearer token: the hub mints one for it
    (kept for the next request) and exchanges that; a caller it cannot vouch for — the
    warnings evaluation — is read under the process's own client."""
    service = Service()
    minted: list[str] = []

    async def mint(requester: Any) -> tuple[str, float] | None:
        if requester.client_id == "hub:warnings":
            return None
        minted.append(requester.client_id)
        return f"minted-for-{requester.client_id}", 900.0

    desk = Caller("mediation-xinmi", purpose="dispute-mediation", user="王调解")
    system = Caller("hub:warnings", purpose="warning-evaluation")

    async def run() -> None:
        http = httpx.AsyncClient(transport=httpx.MockTransport(service))
        tokens = ClientCredentials(
            http, "http://hub/oauth/token", "hub", "secret", CONNECTOR_LOAD, mint=mint
        )
        transport = RemoteTransport("housing", "http://housing/graphql", http, tokens, QUICK)
        for caller in (desk, desk, system):
            await transport.session(caller).load(Named("worker"), ["x"])
        await http.aclose()

    asyncio.run(run())
    assert minted == ["mediation-xinmi"]
    grants = [(form["grant_type"], form.get("subject_token")) for form in service.token_forms]
    assert grants == [
        ("urn:ietf:params:oauth:grant-type:token-exchange", "minted-for-mediation-xinmi"),
        ("client_credentials", None),
    ]
