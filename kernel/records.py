"""Turning a connector's database row into the strawberry type that exposes it."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from functools import cache
from typing import Any, Optional, TypeVar

from kernel.access import FAST_READ, scoped
from kernel.context import Info

RecordT = TypeVar("RecordT")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def from_row(cls: type[RecordT], row: Any) -> RecordT:
    """Build `cls` from the row's columns of the same names (extra columns are ignored)."""
    return cls(**{name: getattr(row, name) for name in _field_names(cls)})  # type: ignore[arg-type]


def from_rows(cls: type[RecordT], rows: Any) -> list[RecordT]:
    return [from_row(cls, row) for row in rows]


def row_field(
    scope: str,
    row: Callable[[Any, Any], Awaitable[Any]],
    column: str,
    returns: Any,
    *,
    convert: Callable[[Any], Any] | None = None,
    description: str | None = None,
) -> Any:
    """A scoped field that is one column of the entity's own row, as `returns` (`convert`
    turns the stored value into it: an enum, a region). `row(part, info)` loads the row
    through the request's batched loader, so every such field of one entity shares one
    statement. Null when the agency has no row for the entity."""

    def pick(found: Any) -> Any:
        if found is None:
            return None
        value = getattr(found, column)
        return convert(value) if convert is not None and value is not None else value

    async def resolve(self: Any, info: Any) -> Any:
        return pick(await row(self, info))

    async def later(pending: Awaitable[Any]) -> Any:
        return pick(await pending)

    def read(part: Any, info: Any) -> Any:
        """The value at once when the row is already loaded (a future done), else an
        awaitable: `kernel.access.fast_resolver`."""
        pending = row(part, info)
        if isinstance(pending, asyncio.Future) and pending.done():
            return pick(pending.result())
        return later(pending)

    setattr(resolve, FAST_READ, read)
    resolve.__annotations__ = {"info": Info, "return": Optional[returns]}  # noqa: UP045
    resolve.__name__ = column
    return scoped(scope, resolver=resolve, description=description)
