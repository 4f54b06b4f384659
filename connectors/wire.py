"""The connector wire: the one message format both ends speak, kept apart from either end
so the client (`connectors.remote`) and the agency's answering side
(`connectors.serving`) cannot drift.

    POST <service>/connector/load        (bearer token with `connector:load`)
    X-Caller-Client-Id, X-Purpose, X-Purpose-Reference: whom the hub answers
    {"calls": [{"loader": "worker", "keys": [...]},
               {"query": "workers_page", "args": [...]}]}
    → {"results": [...]}                 one per call, in order

Values are JSON, with tagged values for what JSON lacks (dates, decimals, tuples, rows,
records), so rows come back with their column names and typed values and everything
above the loaders works unchanged.
"""

from __future__ import annotations

import dataclasses
import json
from collections import namedtuple
from collections.abc import Callable, Hashable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Row

LOAD_PATH = "/connector/load"
MAX_CALLS_PER_REQUEST = 200
MAX_KEYS_PER_CALL = 10_000
"""What an agency answers in one request (`connectors.serving`); a client splits a wave
to fit (`split`), as it does to fit the agency's body limit."""


class WireError(ValueError):
    """A message on the connector wire is not what the protocol allows."""


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
    "$datetime": lambda text: datetime.fromisoformat(as_text(text)),
    "$date": lambda text: date.fromisoformat(as_text(text)),
    "$decimal": lambda text: _finite_decimal(as_text(text)),
    "$tuple": lambda items: tuple(decode(item) for item in as_list(items)),
    "$row": lambda columns: _row_class(tuple(as_object(columns)))(
        *(decode(item) for item in as_object(columns).values())
    ),
    "$record": lambda fields: {name: decode(item) for name, item in as_object(fields).items()},
}


def _finite_decimal(text: str) -> Decimal:
    """No record holds NaN or an infinity; `Decimal("")` raises InvalidOperation, an
    ArithmeticError rather than a ValueError, so it is turned into one here."""
    try:
        value = Decimal(text)
    except ArithmeticError as error:
        raise ValueError(f"not a decimal: {text!r}") from error
    if not value.is_finite():
        raise ValueError("a decimal is finite")
    return value


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


def as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise WireError("expected a string")
    return value


def as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise WireError("expected a list")
    return value


def as_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError("expected an object")
    return value


# --- the messages -----------------------------------------------------------------------


def load_call(loader: str, keys: list[Hashable]) -> dict[str, Any]:
    """One keyed look-up, by the loader's name."""
    return {"loader": loader, "keys": encode(keys)}


def query_call(query: str, args: Sequence[Any]) -> dict[str, Any]:
    """One list query, by name, its arguments by position."""
    return {"query": query, "args": encode(list(args))}


def request_body(calls: list[dict[str, Any]]) -> bytes:
    return json.dumps({"calls": calls}, ensure_ascii=False).encode()


def calls_of(body: Any) -> list[Any]:
    """The calls of a parsed request body (still encoded)."""
    return as_list(as_object(body).get("calls"))


def results_of(body: Any, expected: int) -> list[Any]:
    """The decoded results of a parsed response body: one per call sent."""
    results = decode(as_list(as_object(body).get("results")))
    if len(results) != expected:
        raise WireError(f"{len(results)} results for {expected} calls")
    return results


def response_body(results: Sequence[Any]) -> dict[str, Any]:
    return {"results": [encode(result) for result in results]}


# --- fitting a wave into the agency's limits ---------------------------------------------

_ENVELOPE = len(request_body([]))


class CallTooLarge(ValueError):
    """One call that no request within the agency's body limit can carry (a list query
    whose arguments alone are larger): the caller's request, not the agency, is at fault."""


def _size(call: dict[str, Any]) -> int:
    return len(json.dumps(call, ensure_ascii=False).encode()) + 2  # and its ", "


def _parts(index: int, call: dict[str, Any], budget: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """A call as pieces that each fit: a look-up's keys in chunks of at most
    MAX_KEYS_PER_CALL, halved again until each chunk fits in `budget` bytes."""
    keys = call.get("keys")
    if not isinstance(keys, list):
        if _size(call) > budget:
            raise CallTooLarge(f"a call of {_size(call)} bytes")
        yield index, call
        return
    pending = [keys[i : i + MAX_KEYS_PER_CALL] for i in range(0, len(keys), MAX_KEYS_PER_CALL)]
    while pending:
        chunk = pending.pop(0)
        piece = {**call, "keys": chunk}
        if _size(piece) <= budget:
            yield index, piece
        elif len(chunk) > 1:
            half = len(chunk) // 2
            pending[:0] = [chunk[:half], chunk[half:]]
        else:
            raise CallTooLarge(f"a key of {_size(piece)} bytes")


def split(
    calls: list[dict[str, Any]], max_body_bytes: int
) -> list[list[tuple[int, dict[str, Any]]]]:
    """One wave's calls as requests the agency accepts: each at most `max_body_bytes`,
    MAX_CALLS_PER_REQUEST calls and MAX_KEYS_PER_CALL keys a call, in order; each piece
    keeps the index of the call it is part of (`join` puts the results back together).
    Raises CallTooLarge for a call that fits in no request."""
    budget = max_body_bytes - _ENVELOPE
    requests: list[list[tuple[int, dict[str, Any]]]] = [[]]
    used = 0
    for index, call in enumerate(calls):
        for part in _parts(index, call, budget):
            size = _size(part[1])
            if requests[-1] and (
                used + size > budget or len(requests[-1]) >= MAX_CALLS_PER_REQUEST
            ):
                requests.append([])
                used = 0
            requests[-1].append(part)
            used += size
    return [request for request in requests if request]


def join(
    count: int, requests: list[list[tuple[int, dict[str, Any]]]], answers: list[list[Any]]
) -> list[Any]:
    """The results of `count` calls from the answers to their split requests: a look-up
    split into pieces gets the rows of every piece, in order."""
    pieces: list[list[Any]] = [[] for _ in range(count)]
    for request, answer in zip(requests, answers, strict=True):
        for (index, _), result in zip(request, answer, strict=True):
            pieces[index].append(result)
    return [found[0] if len(found) == 1 else [row for p in found for row in p] for found in pieces]
