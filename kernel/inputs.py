"""What every text and JSON body must be before the hub reads it, checked once at the door
(the /graphql body, /connector/load, GraphQL string literals, SQL parameters).

Text: no NUL character (PostgreSQL stores none, and no key or name holds one) and no lone
surrogate (`"\\ud800"` is valid JSON but no UTF-8 can encode it, so it would fail
wherever the text is next encoded: a log line, a hash, a database driver).

JSON: UTF-8; nesting at most `max_depth`; integers within 64 bits (what the databases
store; Python would otherwise parse a 4,000-digit number and fail later, far from the
request); finite numbers only (no `NaN`, `Infinity`, `1e999`).
"""

from __future__ import annotations

import json
from typing import Any, Final

from kernel.errors import MalformedInput

NUL: Final = "\x00"
MAX_INTEGER: Final = 2**63 - 1
_MAX_INTEGER_DIGITS: Final = len(str(MAX_INTEGER))


_SURROGATE: Final = "a lone surrogate (\\ud800-\\udfff) that no UTF-8 can encode"
_NUL_CHARACTER: Final = "a NUL character"


def text_fault(text: str) -> str | None:
    """What is wrong with the text for the hub, or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE
    return _NUL_CHARACTER if NUL in text else None


def check_text(text: str, what: str) -> str:
    """The text, or MalformedInput naming what `what` holds (`details["nul"]` when it is
    only a NUL: text that can still be echoed, so a caller may answer it in GraphQL)."""
    fault = text_fault(text)
    if fault is not None:
        raise MalformedInput(f"{what} holds {fault}", nul=fault == _NUL_CHARACTER)
    return text


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INTEGER_DIGITS or abs(value := int(digits)) > MAX_INTEGER:
        raise MalformedInput(f"a number is over the largest integer the hub takes ({MAX_INTEGER})")
    return value


def _number(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise MalformedInput("a number is too large to be a finite number")
    return value


def _constant(name: str) -> float:
    raise MalformedInput(f"{name} is not a JSON number")


def parse_json(raw: bytes, *, max_depth: int) -> Any:
    """The JSON value of a body, or MalformedInput saying why the hub will not read it."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise MalformedInput("the body is not UTF-8 JSON", syntax=True) from error
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_number, parse_constant=_constant)
    except RecursionError as error:
        raise _too_deep(max_depth) from error
    except ValueError as error:  # MalformedInput from the hooks above passes through
        raise MalformedInput("the body is not UTF-8 JSON", syntax=True) from error
    check_json(value, max_depth=max_depth)
    return value


def _too_deep(max_depth: int) -> MalformedInput:
    return MalformedInput(f"the body nests deeper than {max_depth} levels", syntax=True)


def check_json(value: Any, *, max_depth: int) -> None:
    """Every string (member names too) sound, and no deeper than `max_depth`; walked
    without recursion, so the walk itself cannot overflow."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, "a string")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise _too_deep(max_depth)
            if isinstance(item, dict):
                stack.extend((name, depth) for name in item)
                stack.extend((member, depth + 1) for member in item.values())
            else:
                stack.extend((member, depth + 1) for member in item)
