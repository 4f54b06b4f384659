"""A reused statement binds its parameters from a plan kept per shape (each list's length)
instead of expanding its IN lists through SQLAlchemy each time: the text and arguments
must be exactly SQLAlchemy's, for plain lists, lists of tuples (composite keys), bound
constants and processed types, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Date,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    literal,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from kernel.errors import BadUserInput
from storage.reading import Compiled, CompiledCache

metadata = MetaData()
item = Table(
    "item",
    metadata,
    Column("code", String, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("amount", Integer),
)


def _statements() -> dict[str, Any]:
    """Loaders' shapes: a batch's keys in an IN list."""
    keys = bindparam("keys", expanding=True)
    return {
        "plain list": select(item).where(item.c.code.in_(keys)),
        "list and constant": select(item).where(item.c.code.in_(keys), item.c.amount > 5).limit(3),
        "composite keys": select(item).where(tuple_(item.c.code, item.c.month).in_(keys)),
        "dates": select(item).where(item.c.month.in_(keys)),
    }


def _keys(name: str, size: int) -> list[Any]:
    if name == "composite keys":
        return [(f"p{i}", datetime.date(2026, 1 + i % 12, 1)) for i in range(size)]
    if name == "dates":
        return [datetime.date(2026, 1 + i % 12, 1) for i in range(size)]
    return [f"p{i}" for i in range(size)]


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.asyncpg.dialect()])
def test_a_planned_bind_is_sqlalchemys(dialect: Dialect) -> None:
    for name, statement in _statements().items():
        reused = Compiled(statement, dialect, reused=True)
        for size in (1, 3, 3, 7, 1, 0, 7):  # each shape planned once, then reused
            parameters = {"keys": _keys(name, size)}
            expected = Compiled(statement, dialect).bind(parameters)
            assert reused.bind(parameters) == expected, (name, size)
        planned = reused._plans or {}
        assert any(plan is not None for plan in planned.values()), name


def test_a_planned_bind_still_refuses_nul() -> None:
    statement = select(item).where(item.c.code.in_(bindparam("keys", expanding=True)))
    reused = Compiled(statement, sqlite.dialect(), reused=True)
    reused.bind({"keys": ["a", "b"]})
    with pytest.raises(BadUserInput):
        reused.bind({"keys": ["a", "b\x00"]})


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.psycopg.dialect()])
def test_a_kept_bind_many_is_a_fresh_ones(dialect: Dialect) -> None:
    """`bind_many` of a reused statement keeps its rendering per row's keys: each batch's
    text and arguments are still what a fresh rendering gives (positional or named)."""
    statements = {
        "insert": item.insert(),
        "update": item.update()
        .where(item.c.code == bindparam("was"))
        .values(month=bindparam("moved"), amount=item.c.amount + bindparam("more")),
    }
    batches: dict[str, list[list[dict[str, Any]]]] = {
        "insert": [
            [{"code": f"p{i}", "month": datetime.date(2026, 1 + i, 1), "amount": i}]
            for i in range(3)
        ]
        + [[{"amount": 4, "month": datetime.date(2026, 5, 1), "code": "q"}]]  # keys reordered
        + [[{"code": "r", "month": None, "amount": None}]],
        "update": [
            [{"was": f"p{i}", "moved": datetime.date(2026, 2, 1 + i), "more": i}] for i in range(3)
        ],
    }
    for name, statement in statements.items():
        reused = Compiled(statement, dialect, reused=True)
        for rows in batches[name]:
            assert reused.bind_many(rows) == Compiled(statement, dialect).bind_many(rows), rows
        assert reused._many, name


def _built(code: str, month: datetime.date, codes: list[str], limit: int) -> dict[str, Any]:
    """Statements built per call, as the dashboard's pages and counts are: their values in
    the statement, not in parameters."""
    return {
        "values and limit": select(item)
        .where(item.c.code > code, item.c.month == month, item.c.amount > literal(limit))
        .order_by(item.c.code)
        .limit(limit),
        "IN list of values": select(item.c.code).where(item.c.code.in_(codes)),
        "composite IN list": select(item).where(
            tuple_(item.c.code, item.c.month).in_([(c, month) for c in codes])
        ),
        "aggregate": select(func.count(), func.sum(item.c.amount))
        .where(item.c.month >= month, item.c.code.startswith(code))
        .group_by(item.c.month),
    }


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.asyncpg.dialect()])
def test_a_statement_built_per_call_binds_its_own_values(dialect: Dialect) -> None:
    """One compilation per shape: each later statement of that shape gets exactly the text
    and arguments its own compilation gives (its values, not the first one's)."""
    cache = CompiledCache(dialect)
    calls = [
        ("a", datetime.date(2026, 1, 1), ["p1"], 3),
        ("b%_", datetime.date(2026, 9, 1), ["p2", "p3", "p4"], 7),
        ("c", datetime.date(2025, 12, 1), [], 1),
    ]
    compiled: dict[str, set[int]] = {}
    for call in calls:
        for name, statement in _built(*call).items():
            shaped, sql, arguments = cache.bind(statement, None, keep=False)
            assert (sql, arguments) == Compiled(statement, dialect).bind(None), (name, call)
            compiled.setdefault(name, set()).add(id(shaped))
    assert all(len(ids) == 1 for ids in compiled.values()), compiled
