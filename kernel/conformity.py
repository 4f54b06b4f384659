"""Whether a value decoded from the wire is of the Python type a function declares.

A connector call's keys and arguments arrive as JSON and are rebuilt into Python values;
before any of them reaches SQL, each must be what the loader's key columns and the served
query's parameters declare: a text where a text is expected, a date where a date is. A
driver would otherwise refuse it deep in the database call (a 500), or worse, compare a
number with a text column and silently match nothing.
"""

from __future__ import annotations

import dataclasses
import functools
import types
from datetime import date, datetime
from typing import Any, Union, get_args, get_origin, get_type_hints


def conforms(value: Any, hint: Any) -> bool:
    """`value` is an instance of `hint`: a class, `X | None`, `tuple[X, ...]`,
    `tuple[X, Y]`, `list[X]` or a dataclass (its fields checked in turn)."""
    origin = get_origin(hint)
    if hint is Any:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin in (Union, types.UnionType):
        return any(conforms(value, option) for option in get_args(hint))
    if origin is tuple:
        return isinstance(value, tuple) and _items_conform(value, get_args(hint))
    if origin is list:
        (item,) = get_args(hint)
        return isinstance(value, list) and all(conforms(member, item) for member in value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return isinstance(value, hint) and all(
            conforms(getattr(value, name), field_hint)
            for name, field_hint in field_types(hint).items()
        )
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is date:
        return isinstance(value, date) and not isinstance(value, datetime)
    return isinstance(hint, type) and isinstance(value, hint)


def _items_conform(value: tuple[Any, ...], hints: tuple[Any, ...]) -> bool:
    if len(hints) == 2 and hints[1] is Ellipsis:
        return all(conforms(item, hints[0]) for item in value)
    return len(value) == len(hints) and all(
        conforms(item, hint) for item, hint in zip(value, hints, strict=True)
    )


@functools.cache
def field_types(record: type) -> dict[str, Any]:
    """A dataclass's fields and their declared types (string annotations resolved)."""
    hints = get_type_hints(record)
    return {field.name: hints[field.name] for field in dataclasses.fields(record)}
