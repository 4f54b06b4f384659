"""Turning a connector's database row into the strawberry type that exposes it."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any, TypeVar

RecordT = TypeVar("RecordT")


@cache
def _field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def from_row(cls: type[RecordT], row: Any) -> RecordT:
    """Build `cls` from the row's columns of the same names (extra columns are ignored)."""
    return cls(**{name: getattr(row, name) for name in _field_names(cls)})  # type: ignore[arg-type]


def from_rows(cls: type[RecordT], rows: Any) -> list[RecordT]:
    return [from_row(cls, row) for row in rows]
