"""The agency's end of the connector wire (`connectors.wire`): `POST /connector/load`
answered from the agency's own database, through the same `LocalTransport` that serves
its requests in process. The agency runs only the look-ups and list queries it declared,
within its own limits, whatever the caller asks; bad messages are refused with 400
before any database is touched.

The endpoint is an ASGI app behind the hub's guards (`hub.guards`: the audit record, the
delegating caller middleware of `auth.delegation`, the rate limit), which put the caller,
the presenting client and the request's audit trail on the scope; `hub.subgraph_app`
mounts it. What the answer discloses is noted on that trail — each look-up and query by
name, and every entity whose key a returned row carries (the columns the agency declares
entity keys: `entity_columns`) — so the audit record names every worker whose rows left
the agency, and the worker's access report shows it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Protocol, get_type_hints

from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from auth.bodies import read_body
from auth.middleware import Refusal
from auth.tokens import VerifiedToken
from connectors.base import Connector
from connectors.loading import AgencyLoaders, LoaderSpec
from connectors.local import LocalTransport
from connectors.transport import NotInProcess
from connectors.wire import (
    MAX_CALLS_PER_REQUEST,
    MAX_KEYS_PER_CALL,
    WireError,
    as_list,
    as_object,
    as_text,
    calls_of,
    decode,
    response_body,
)
from kernel import errors
from kernel.caller import Caller
from kernel.conformity import conforms
from kernel.context import Disclosures
from kernel.errors import BadUserInput, ConnectorTimeout, ConnectorUnavailable
from kernel.inputs import parse_json
from kernel.scopes import CONNECTOR_LOAD

log = logging.getLogger(__name__)

MAX_ROWS_PER_QUERY = 1_000
"""A served query's `limit`, capped by the agency itself: the hub asks for pages of at
most HUB_PAGES_MAXIMUM + 1 and scans in chunks of 500."""
WIRE_MAX_DEPTH = 16
"""Nesting of a request: calls, a call, its arguments, a record, a tuple in it
(`kernel.inputs` refuses deeper bodies, huge numbers, NUL and lone surrogates)."""


def call_names(body: Any) -> list[str]:
    """`loader:<name>` or `query:<name>` of each call of a checked body."""
    return [
        f"loader:{call['loader']}" if "loader" in call else f"query:{call['query']}"
        for call in calls_of(body)
    ]


def note_rows(disclosures: Disclosures, columns: Mapping[str, str], results: Iterable[Any]) -> None:
    """Notes, as disclosed, each entity whose key a returned row carries in one of
    `columns` (column name → entity kind)."""
    entities = disclosures.entities
    for result in results:
        for row in result if isinstance(result, list) else ():
            mapping = getattr(row, "_mapping", row)
            if not isinstance(mapping, Mapping):
                continue
            for column, kind in columns.items():
                key = mapping.get(column)
                if isinstance(key, str) and key:
                    entities.add((kind, key))


class CallerView(Protocol):
    """What the agency re-applies for one request's caller (`graph.served.CallerRows`)."""

    async def visible(self, spec: LoaderSpec[Any], keys: Sequence[Hashable]) -> list[bool]: ...
    def criteria(self, args: tuple[Any, ...]) -> tuple[Any, ...]: ...
    def masked(self, body: Any) -> Any: ...


class ServingPolicy(Protocol):
    """The agency's policy on what it serves (`graph.served.ServedRows`)."""

    def for_caller(self, caller: Caller) -> CallerView: ...


async def answer_calls(
    loaders: type[AgencyLoaders],
    transport: LocalTransport,
    body: Any,
    view: CallerView | None = None,
) -> list[Any]:
    """Every call of one request (a parsed body), answered concurrently from the agency's
    database, for the caller `view` stands for: a look-up answers nothing for the keys of
    entities the caller may not see, a list query runs within the caller's limits.
    Raises WireError for a call the agency does not offer or a malformed message."""
    calls = calls_of(body)
    if not calls or len(calls) > MAX_CALLS_PER_REQUEST:
        raise WireError(f"send 1 to {MAX_CALLS_PER_REQUEST} calls")
    specs = loaders.loader_specs()
    queries = loaders.served_queries()
    pending: list[Callable[[], Awaitable[Any]]] = []  # started once every call is valid
    for call in calls:
        call = as_object(call)
        if "loader" in call:
            spec = specs.get(as_text(call["loader"]))
            if spec is None:
                raise WireError(f"no loader {call['loader']!r}")
            keys = decode(as_list(call.get("keys")))
            if len(keys) > MAX_KEYS_PER_CALL:
                raise WireError(f"at most {MAX_KEYS_PER_CALL} keys a call")
            if not all(conforms(key, _key_type(spec)) for key in keys):
                raise WireError(f"a key of {spec.name} is not of its columns' types")
            pending.append(functools.partial(_look_up, transport, spec, keys, view))
        elif "query" in call:
            query = queries.get(as_text(call["query"]))
            if query is None:
                raise WireError(f"no query {call['query']!r}")
            args = _arguments(query.body, decode(as_list(call.get("args"))))
            if view is not None:
                args = view.criteria(args)
            pending.append(functools.partial(transport.query, query, args))
        else:
            raise WireError("a call names a loader or a query")
    return await asyncio.gather(*(start() for start in pending))


async def _look_up(
    transport: LocalTransport, spec: LoaderSpec[Any], keys: list[Any], view: CallerView | None
) -> list[Any]:
    if view is not None:
        keys = [key for key, ok in zip(keys, await view.visible(spec, keys), strict=True) if ok]
    return await transport.load(spec, keys) if keys else []


@functools.cache
def _parameters(body: Callable[..., Any]) -> list[tuple[str, Any]]:
    """A served query's parameters after the database, with their declared types."""
    hints = get_type_hints(body)
    return [(name, hints.get(name)) for name in list(inspect.signature(body).parameters)[1:]]


def _arguments(body: Callable[..., Any], args: list[Any]) -> tuple[Any, ...]:
    """Positional arguments rebuilt as the query declares them (records → dataclasses)."""
    parameters = _parameters(body)
    if len(args) != len(parameters):
        raise WireError(f"{body.__name__} takes {len(parameters)} arguments")
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
        if hint is not None and not conforms(value, hint):
            raise WireError(f"argument {name} is not of its declared type")
        rebuilt.append(value)
    return tuple(rebuilt)


@functools.cache
def _key_type(spec: Any) -> Any:
    """The Python type of a loader's key: its column's, or a tuple of its columns'."""
    columns = spec.columns if isinstance(spec.columns, tuple) else (spec.columns,)
    types = tuple(_python_type(column.type) for column in columns)
    return types[0] if len(types) == 1 else tuple[types]  # type: ignore[valid-type]


def _python_type(column_type: Any) -> Any:
    """A decorated type (sqlmodel's AutoString) answers `object`: ask what it decorates."""
    found = getattr(column_type, "impl_instance", column_type).python_type
    return Any if found is object else found


class ConnectorLoads:
    """`POST /connector/load` for one agency: the hub's batched look-ups, answered from
    this agency's database and logged with the caller they are for. Expects `caller` and
    `presenter` on the scope (the delegating caller middleware's)."""

    def __init__(
        self,
        connector: Connector,
        max_body_bytes: int,
        *,
        body_timeout_seconds: float = 15.0,
        entity_columns: Mapping[str, str] | None = None,
        policy: ServingPolicy | None = None,
    ) -> None:
        """`entity_columns`: column name → the entity kind whose key it holds
        (`worker_id_number` → Worker), from the agency's declarations; `policy`: what
        the agency re-applies for the caller (`graph.served`)."""
        if not isinstance(connector.transport, LocalTransport):
            raise NotInProcess(f"{connector.name} answers from its own database only")
        self.name = connector.name
        self.entity_columns = dict(entity_columns or {})
        self.policy = policy
        self.loaders = connector.loaders
        self.transport = connector.transport
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.answer(scope, receive, scope["caller"], scope["presenter"])
        except Refusal as refused:  # a body too large or too slow
            await refused.send(send)
            return
        await response(scope, receive, send)

    async def answer(
        self, scope: Scope, receive: Receive, caller: Caller, presenter: VerifiedToken
    ) -> Response:
        if not caller.actors and CONNECTOR_LOAD not in presenter.scopes:
            return _refused(
                403,
                errors.INSUFFICIENT_SCOPE,
                f"connector calls are made for a caller (a token exchanged for the caller's) "
                f"or under a grant holding {CONNECTOR_LOAD}",
            )
        body = await read_body(
            scope, receive, max_bytes=self.max_body_bytes, timeout_seconds=self.body_timeout
        )
        try:
            calls = parse_json(body, max_depth=WIRE_MAX_DEPTH)
            view = self.policy.for_caller(caller) if self.policy is not None else None
            results = await answer_calls(self.loaders, self.transport, calls, view)
        except (ValueError, BadUserInput) as error:  # a WireError, or a body refused unread
            return _refused(400, errors.INVALID_REQUEST, str(error))
        except (SQLAlchemyError, OSError, ConnectorUnavailable, ConnectorTimeout) as error:
            log.warning("connector calls failed: %s", type(error).__name__)
            return _refused(
                503, errors.TEMPORARILY_UNAVAILABLE, f"{self.name}'s database did not answer"
            )
        trail = scope.get("audit")
        disclosures = getattr(trail, "disclosures", None)
        if isinstance(disclosures, Disclosures):
            for name in call_names(calls):
                disclosures.fields[(self.name, name)] = ()
            note_rows(disclosures, self.entity_columns, results)
        log.info(  # never the purpose reference: the caller's free text (the audit has it)
            "%d connector calls for %s via %s, purpose %s",
            len(results),
            caller.client_id,
            " < ".join(caller.actors) or "-",
            caller.purpose,
        )
        encoded = response_body(results)
        return JSONResponse(view.masked(encoded) if view is not None else encoded)


def _refused(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)
