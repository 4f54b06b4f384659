"""An agency's connector reached over the network, both ends of the wire.

The hub (or another agency's service) asks a remote agency for exactly what it would
ask its database in process: the agency's named loaders with a batch of keys, and its
`@served` list queries with their arguments. One HTTP request carries every call of one
batching wave, so a query costs as many round trips as it has waves, whatever the
number of rows. The agency runs only the statements it declared; the hub never ships
SQL. Rows come back with their column names and typed values, so resolvers, scope
guards, jurisdiction, derived fields and the audit log above them work unchanged.

    POST <service>/connector/load        (bearer token with `connector:load`)
    X-Caller-Client-Id, X-Purpose, X-Purpose-Reference: whom the hub answers
    {"calls": [{"loader": "worker", "keys": [...]},
               {"query": "workers_page", "args": [...]}]}
    → {"results": [...]}                 one per call, in order

Failures never hang a request: every call has a deadline (CONNECTOR_TIMEOUT), transient
failures (connection errors, 502/503/504) are retried with jittered backoff within it,
and after repeated failures a circuit breaker answers CONNECTOR_UNAVAILABLE at once
until a probe, one request after the cool-down, finds the agency back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import logging
import random
import time
from collections import namedtuple
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any, Protocol, get_type_hints

import httpx
from sqlalchemy import Row

from connectors.loading import AgencyLoaders
from kernel.batching import Waves
from kernel.errors import ConnectorTimeout, ConnectorUnavailable
from storage.database import Database

log = logging.getLogger(__name__)

LOAD_PATH = "/connector/load"
MAX_CALLS_PER_REQUEST = 200
MAX_KEYS_PER_CALL = 10_000
MAX_ROWS_PER_QUERY = 1_000
"""A served query's `limit`, capped by the agency itself: the hub asks for pages of at
most HUB_PAGES_MAXIMUM + 1 and scans in chunks of 500."""
_RETRIED_STATUSES = frozenset({502, 503, 504})


class WireError(ValueError):
    """A message on the connector wire is not what the protocol allows."""


# --- the wire format: JSON with tagged values for what JSON lacks ---------------------


def encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, tuple) and not isinstance(value, Row):
        return {"$tuple": [encode(item) for item in value]}
    if isinstance(value, list):
        return [encode(item) for item in value]
    if isinstance(value, Row):
        return {"$row": {name: encode(item) for name, item in value._mapping.items()}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "$record": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        }
    raise TypeError(f"cannot send a {type(value).__name__} over the connector wire")


@cache
def _row_class(names: tuple[str, ...]) -> type[tuple[Any, ...]]:
    """Rows from the wire: attribute access by column name, like SQLAlchemy's rows."""
    return namedtuple("Row", names)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$datetime": lambda text: datetime.fromisoformat(_text(text)),
    "$date": lambda text: date.fromisoformat(_text(text)),
    "$decimal": lambda text: Decimal(_text(text)),
    "$tuple": lambda items: tuple(decode(item) for item in _list(items)),
    "$row": lambda columns: _row_class(tuple(_dict(columns)))(
        *(decode(item) for item in _dict(columns).values())
    ),
    "$record": lambda fields: {name: decode(item) for name, item in _dict(fields).items()},
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, dict):
        if len(value) != 1:
            raise WireError("a tagged value has exactly one tag")
        ((tag, inner),) = value.items()
        decoder = _DECODERS.get(tag)
        if decoder is None:
            raise WireError(f"unknown tag {tag!r}")
        try:
            return decoder(inner)
        except (TypeError, ValueError) as error:  # a malformed date, decimal, row
            raise WireError(f"malformed {tag} value") from error
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise WireError("expected a string")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise WireError("expected a list")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError("expected an object")
    return value


# --- the agency's end: answering calls from its own database --------------------------


async def answer_calls(
    loaders_class: type[AgencyLoaders], database: Database, body: Any
) -> list[Any]:
    """Every call of one request, answered concurrently from the agency's database.
    Raises WireError for a call the agency does not offer or a malformed message."""
    calls = _list(_dict(body).get("calls"))
    if not calls or len(calls) > MAX_CALLS_PER_REQUEST:
        raise WireError(f"send 1 to {MAX_CALLS_PER_REQUEST} calls")
    specs = loaders_class.loader_specs()
    queries = loaders_class.served_queries()
    loaders = loaders_class(database, Waves())
    pending: list[Awaitable[Any]] = []
    for call in calls:
        call = _dict(call)
        if "loader" in call:
            spec = specs.get(_text(call["loader"]))
            if spec is None:
                raise WireError(f"no loader {call['loader']!r}")
            keys = decode(_list(call.get("keys")))
            if len(keys) > MAX_KEYS_PER_CALL:
                raise WireError(f"at most {MAX_KEYS_PER_CALL} keys a call")
            if not all(isinstance(key, _KEY_TYPES) for key in keys):
                raise WireError("a key is a string, number, date or tuple of them")
            pending.append(spec.rows(database, keys))
        elif "query" in call:
            method = queries.get(_text(call["query"]))
            if method is None:
                raise WireError(f"no query {call['query']!r}")
            args = _arguments(method, decode(_list(call.get("args"))))
            pending.append(method(loaders, *args))
        else:
            raise WireError("a call names a loader or a query")
    return [encode(result) for result in await asyncio.gather(*pending)]


_KEY_TYPES = (str, int, date, tuple)


@cache
def _parameters(method: Callable[..., Any]) -> list[tuple[str, Any]]:
    """A served query's parameters after `self`, with their declared types."""
    hints = get_type_hints(method)
    return [(name, hints.get(name)) for name in list(inspect.signature(method).parameters)[1:]]


def _arguments(method: Callable[..., Any], args: list[Any]) -> list[Any]:
    """Positional arguments rebuilt as the method declares them (records → dataclasses)."""
    parameters = _parameters(method)
    if len(args) != len(parameters):
        raise WireError(f"{method.__name__} takes {len(parameters)} arguments")
    rebuilt = []
    for (name, hint), value in zip(parameters, args, strict=True):
        if name == "limit" and (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= MAX_ROWS_PER_QUERY
        ):
            raise WireError(f"limit is a whole number from 1 to {MAX_ROWS_PER_QUERY}")
        if isinstance(value, dict):
            if not (isinstance(hint, type) and dataclasses.is_dataclass(hint)):
                raise WireError(f"argument {name} is not a record")
            try:
                value = hint(**value)
            except TypeError as error:
                raise WireError(f"argument {name}: {error}") from error
        rebuilt.append(value)
    return rebuilt


# --- the hub's end: one agency's service, shared by every request of a process --------


@dataclass(frozen=True)
class RemotePolicy:
    timeout_seconds: float = 2.0
    """Deadline of one call, retries included: CONNECTOR_TIMEOUT after it."""
    retries: int = 2
    backoff_seconds: float = 0.05
    """First retry's mean delay; doubled for each further retry, jittered."""
    breaker_failures: int = 5
    """Consecutive failed calls that open the circuit."""
    breaker_seconds: float = 10.0
    """How long an open circuit answers at once before one probe goes through."""


class CircuitBreaker:
    """Closed: calls go through. Open (after `failures` consecutive failures): calls fail
    at once. After `reset_seconds`, one probe goes through; its success closes the
    circuit, its failure opens it again for another `reset_seconds`."""

    def __init__(
        self,
        failures: int,
        reset_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self.probing = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half-open" if self.probing else "open"

    def admit(self) -> bool:
        if self.opened_at is None:
            return True
        if not self.probing and self.clock() - self.opened_at >= self.reset_seconds:
            self.probing = True
            return True
        return False

    def retry_after(self) -> float:
        if self.opened_at is None:
            return 0.0
        return max(0.0, self.reset_seconds - (self.clock() - self.opened_at))

    def succeeded(self) -> None:
        self.failures, self.opened_at, self.probing = 0, None, False

    def failed(self) -> None:
        self.failures += 1
        if self.probing or self.failures >= self.threshold:
            self.opened_at = self.clock()
        self.probing = False


class Requester(Protocol):
    """Whom a call is made for: the caller the hub is answering."""

    @property
    def client_id(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def purpose_reference(self) -> str | None: ...


class AccessTokens(Protocol):
    async def token(self) -> str: ...
    def forget(self, token: str) -> None: ...


class ClientCredentials:
    """The hub's own access token for connector calls (OAuth2 client credentials), kept
    until shortly before it expires and fetched by one request at a time."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        scope: str,
    ) -> None:
        self.http = http
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.scope = scope
        self._token: str | None = None
        self._renew_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._renew_at:
                self._token, lifetime = await self._fetch()
                self._renew_at = time.monotonic() + max(lifetime - 60.0, lifetime / 2)
            return self._token

    def forget(self, token: str) -> None:
        """A service refused the token (revoked, rotated key): fetch a new one next time."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> tuple[str, float]:
        try:
            response = await self.http.post(
                self.token_url,
                data={"grant_type": "client_credentials", "scope": self.scope},
                auth=(self.client_id, self.client_secret),
            )
            response.raise_for_status()
            issued = response.json()
            return str(issued["access_token"]), float(issued.get("expires_in", 300))
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            raise NoToken(
                f"the hub got no token for its calls ({type(error).__name__} from its issuer)"
            ) from error


class NoToken(Exception):
    """The hub's issuer did not give it a token for connector calls."""


class RemoteAgency:
    """One agency's service as the hub's processes see it: where it is, how to reach it,
    and whether it has been failing."""

    def __init__(
        self,
        name: str,
        url: str,
        http: httpx.AsyncClient,
        tokens: AccessTokens,
        policy: RemotePolicy,
    ) -> None:
        self.name = name
        self.base_url = url.removesuffix("/").removesuffix("/graphql")
        self.http = http
        self.tokens = tokens
        self.policy = policy
        self.breaker = CircuitBreaker(policy.breaker_failures, policy.breaker_seconds)

    def __repr__(self) -> str:
        return f"RemoteAgency({self.name!r}, {self.base_url!r})"

    def session(self, requester: Requester | None) -> RemoteSession:
        return RemoteSession(self, requester)

    async def call(self, calls: list[dict[str, Any]], requester: Requester | None) -> list[Any]:
        """The results of one batch of calls, or ConnectorUnavailable/ConnectorTimeout."""
        if not self.breaker.admit():
            raise self._unavailable(
                f"it has been failing; the hub tries again in"
                f" {self.breaker.retry_after():.0f} s (circuit open)"
            )
        try:
            async with asyncio.timeout(self.policy.timeout_seconds):
                results = await self._with_retries(calls, requester)
        except TimeoutError:
            self.breaker.failed()
            raise ConnectorTimeout(
                f"connector {self.name} did not answer within {self.policy.timeout_seconds:g} s",
                connector=self.name,
            ) from None
        except ConnectorUnavailable:
            self.breaker.failed()
            raise
        self.breaker.succeeded()
        return results

    async def _with_retries(
        self, calls: list[dict[str, Any]], requester: Requester | None
    ) -> list[Any]:
        body = json.dumps({"calls": calls}, ensure_ascii=False).encode()
        attempt = 0
        while True:
            try:
                return await self._attempt(body, requester, len(calls))
            except _Transient as transient:
                if attempt >= self.policy.retries:
                    raise self._unavailable(transient.reason) from None
                delay = self.policy.backoff_seconds * 2**attempt
                await asyncio.sleep(random.uniform(0.5 * delay, 1.5 * delay))
                attempt += 1

    async def _attempt(self, body: bytes, requester: Requester | None, expected: int) -> list[Any]:
        try:
            token = await self.tokens.token()
        except NoToken as error:
            raise self._unavailable(str(error)) from error
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
        if requester is not None:
            headers |= _requester_headers(requester)
        try:
            response = await self.http.post(
                f"{self.base_url}{LOAD_PATH}", content=body, headers=headers
            )
        except httpx.TransportError as error:
            raise _Transient(f"{type(error).__name__} reaching it") from error
        if response.status_code in _RETRIED_STATUSES:
            raise _Transient(f"it answered HTTP {response.status_code}")
        if response.status_code == 401:
            self.tokens.forget(token)
            raise _Transient("it refused the hub's token")
        if response.status_code != 200:
            raise self._unavailable(f"it refused the call (HTTP {response.status_code})")
        try:
            results = decode(_list(_dict(response.json()).get("results")))
        except (WireError, ValueError):
            raise self._unavailable("its answer is not a connector response") from None
        if len(results) != expected:
            raise self._unavailable("its answer does not match the calls")
        return results

    async def check_health(self) -> None:
        """Ready when the service says it is (its database answers and is migrated)."""
        try:
            response = await self.http.get(
                f"{self.base_url}/readyz", timeout=self.policy.timeout_seconds
            )
        except httpx.TransportError as error:
            raise self._unavailable(f"{type(error).__name__} reaching it") from error
        if response.status_code != 200:
            raise self._unavailable(f"its /readyz answered HTTP {response.status_code}")

    def _unavailable(self, reason: str) -> ConnectorUnavailable:
        return ConnectorUnavailable(
            f"connector {self.name} is unavailable: {reason}", connector=self.name
        )


class _Transient(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _requester_headers(requester: Requester) -> Mapping[str, Any]:
    """UTF-8 bytes: purposes and references are often Chinese."""
    headers = {
        "x-caller-client-id": requester.client_id.encode(),
        "x-purpose": requester.purpose.encode(),
    }
    if requester.purpose_reference:
        headers["x-purpose-reference"] = requester.purpose_reference.encode()
    return headers


class RemoteSession:
    """One request's calls to one agency: the calls made in one event-loop turn (one
    batching wave) travel together in one HTTP request."""

    def __init__(self, agency: RemoteAgency, requester: Requester | None) -> None:
        self.agency = agency
        self.requester = requester
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._flushing: asyncio.Task[None] | None = None

    async def load(self, loader: str, keys: list[Hashable]) -> list[Any]:
        result: list[Any] = await self._enqueue({"loader": loader, "keys": encode(keys)})
        return result

    async def query(self, name: str, args: tuple[Any, ...]) -> Any:
        return await self._enqueue({"query": name, "args": encode(list(args))})

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
            results = await self.agency.call([call for call, _ in batch], self.requester)
        except Exception as error:  # every call of the batch fails alike
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)
