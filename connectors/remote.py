"""An agency reached at its own service (`hub connector serve`): the client end of the
connector wire (`connectors.wire`).

The hub asks a remote agency for exactly what it would ask its database in process: the
agency's named look-ups with a batch of keys, and its `@served` list queries with their
arguments. One HTTP request carries every call of one batching wave, so a query costs as
many round trips as it has waves, whatever the number of rows. Each call runs under the
agency's deadline, retries and circuit breaker (`connectors.resilience`), with the
caller's token exchanged for one the agency accepts (`connectors.credentials`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Any

import httpx
from opentelemetry import propagate

from connectors import wire
from connectors.credentials import AccessTokens, NoToken
from connectors.resilience import (
    CircuitBreaker,
    Guard,
    Refused,
    RemotePolicy,
    Transient,
    unavailable,
)
from connectors.transport import ListQuery, LookUp, Requester, Session, Transport
from kernel.errors import BadUserInput

_RETRIED_STATUSES = frozenset({502, 503, 504})


class RemoteTransport(Transport):
    """One agency's service as this process sees it: where it is, how to reach it, and
    whether it has been failing (shared by every request of the process)."""

    def __init__(
        self,
        name: str,
        url: str,
        http: httpx.AsyncClient,
        tokens: AccessTokens,
        policy: RemotePolicy,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`http`: the process's client (closed by whoever made it); `clock`: the
        breaker's."""
        self.name = name
        self.base_url = url.removesuffix("/").removesuffix("/graphql")
        self.http = http
        self.tokens = tokens
        self.policy = policy
        self.guard = Guard(name, policy, clock)

    @property
    def breaker(self) -> CircuitBreaker:
        return self.guard.breaker

    def describe(self) -> str:
        return f"at {self.base_url}"

    def __repr__(self) -> str:
        return f"RemoteTransport({self.name!r}, {self.base_url!r})"

    def session(self, requester: Requester | None) -> RemoteSession:
        return RemoteSession(self, requester)

    async def call(self, calls: list[dict[str, Any]], requester: Requester | None) -> list[Any]:
        """The results of one batch of calls, or ConnectorUnavailable/ConnectorTimeout;
        sent as requests that fit the agency's limits (`wire.split`), concurrently.
        BadUserInput for a call no request within them can carry."""
        try:
            requests = wire.split(calls, self.policy.max_body_bytes)
        except wire.CallTooLarge as error:
            raise BadUserInput(
                f"the request needs {error} from connector {self.name}, larger than "
                f"{self.name} accepts ({self.policy.max_body_bytes} bytes a request)"
            ) from None

        async def send(request: list[tuple[int, dict[str, Any]]]) -> list[Any]:
            body = wire.request_body([call for _, call in request])
            return await self.guard.call(lambda: self._attempt(body, requester, len(request)))

        if len(requests) == 1:
            answers = [await send(requests[0])]
        else:
            answers = list(await asyncio.gather(*(send(request) for request in requests)))
        return wire.join(len(calls), requests, answers)

    async def _attempt(self, body: bytes, requester: Requester | None, expected: int) -> list[Any]:
        try:
            token = await self.tokens.token_for(requester, self.name)
        except NoToken as error:
            if error.refused and requester is not None:  # the caller's token, not the agency
                raise Refused(f"the caller's token was not exchanged: {error}") from error
            raise unavailable(self.name, str(error)) from error
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        if requester is not None:
            headers |= _requester_headers(requester)
        propagate.inject(headers)  # W3C traceparent: the agency's spans join the request's
        try:
            response = await self.http.post(
                f"{self.base_url}{wire.LOAD_PATH}", content=body, headers=headers
            )
        except httpx.TransportError as error:
            raise Transient(f"{type(error).__name__} reaching it") from error
        if response.status_code in _RETRIED_STATUSES:
            raise Transient(f"it answered HTTP {response.status_code}")
        if response.status_code == 401:
            self.tokens.forget(token)
            raise Transient("it refused the hub's token")
        if 400 <= response.status_code < 500:
            raise Refused(f"it refused the call (HTTP {response.status_code})")
        if response.status_code != 200:
            raise unavailable(self.name, f"it refused the call (HTTP {response.status_code})")
        try:
            return wire.results_of(response.json(), expected)
        except ValueError as error:  # not JSON, or a WireError
            reason = f"its answer is not a connector response ({error})"
            raise unavailable(self.name, reason) from None

    async def dispose(self) -> None:
        """Nothing to release: the HTTP client is the process's, closed by whoever made it."""

    async def check_health(self) -> None:
        """Ready when the service says it is (its database answers and is migrated)."""
        try:
            response = await self.http.get(
                f"{self.base_url}/readyz", timeout=self.policy.timeout_seconds
            )
        except httpx.TransportError as error:
            raise unavailable(self.name, f"{type(error).__name__} reaching it") from error
        if response.status_code != 200:
            raise unavailable(self.name, f"its /readyz answered HTTP {response.status_code}")


def _requester_headers(requester: Requester) -> Mapping[str, Any]:
    """The caller's purpose and reference, which the agency checks against the grant of
    the caller its token names; UTF-8 bytes: purposes and references are often Chinese."""
    headers = {"x-purpose": requester.purpose.encode()}
    if requester.purpose_reference:
        headers["x-purpose-reference"] = requester.purpose_reference.encode()
    return headers


class RemoteSession(Session):
    """One request's calls to one agency: the calls made in one event-loop turn (one
    batching wave) travel together in one HTTP request."""

    def __init__(self, transport: RemoteTransport, requester: Requester | None) -> None:
        self.transport = transport
        self.requester = requester
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def load(self, look_up: LookUp, keys: list[Hashable]) -> list[Any]:
        result: list[Any] = await self._enqueue(wire.load_call(look_up.name, keys))
        return result

    async def query(self, query: ListQuery, args: tuple[Any, ...]) -> Any:
        return await self._enqueue(wire.query_call(query.name, args))

    def _enqueue(self, call: dict[str, Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            self._flushing = loop.create_task(self._flush())
        self._pending.append((call, future))
        return future

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # let the rest of the wave queue its calls
        batch, self._pending = self._pending, []
        try:
            results = await self.transport.call([call for call, _ in batch], self.requester)
        except Exception as error:  # every call of the batch fails alike
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
