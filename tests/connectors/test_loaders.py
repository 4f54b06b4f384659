"""The agencies' declared look-ups: each searches its key (never walks a whole index) and
returns its rows in one total order."""

from __future__ import annotations

import sqlite3
from collections.abc import Hashable
from contextlib import closing
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select
from sqlalchemy.dialects import sqlite

from conftest import RunningHub
from connectors.base import Connector
from connectors.loading import LoaderSpec, _table_of, many_by, one_by

ON_THE_SQLITE_HUB = pytest.mark.parametrize("hub", ["sqlite"], indirect=True)


def _specs(hub: RunningHub) -> list[tuple[Connector, str, LoaderSpec[Any]]]:
    return [
        (connector, name, spec)
        for connector in hub.connectors
        for name, spec in connector.loaders.loader_specs().items()
    ]


def _key_columns(spec: LoaderSpec[Any]) -> tuple[Any, ...]:
    return spec.columns if isinstance(spec.columns, tuple) else (spec.columns,)


def _reader(connector: Connector) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{connector.database.url.database}?mode=ro", uri=True)


def _run(reader: sqlite3.Connection, statement: Any, prefix: str = "") -> list[Any]:
    """A SQLAlchemy statement compiled for SQLite and run on the plain driver."""
    expanded = statement.compile(dialect=sqlite.dialect()).construct_expanded_state()
    positional = [expanded.parameters[name] for name in expanded.positiontup or ()]
    return reader.execute(f"{prefix}{expanded.statement}", positional).fetchall()


def _index_walks(plan: list[Any]) -> list[str]:
    """Steps that read a whole index in its order (rather than search it for a key). A
    plain SCAN is left to the planner's costs: at demo scale some tables are tiny."""
    return [row[3] for row in plan if row[3].startswith("SCAN") and "INDEX" in row[3]]


@ON_THE_SQLITE_HUB
def test_no_look_up_walks_a_whole_index(hub: RunningHub) -> None:
    """SQLite's plan for each loader's statement, with a real key on the seeded (and
    ANALYZEd) data, never walks a whole index. A `many_by` ordered by another column once
    had SQLite walk that column's index over the whole table to skip a sort (a project's
    month of payroll: 20 ms instead of 0.2 on the bench's small data set)."""
    scans = []
    for connector, name, spec in _specs(hub):
        columns = _key_columns(spec)
        with closing(_reader(connector)) as reader:
            [sample] = _run(
                reader, select(*columns).where(*(c.is_not(None) for c in columns)).limit(1)
            )
            key = tuple(sample) if len(columns) > 1 else sample[0]
            plan = _run(reader, spec.query.params(**spec.parameters([key])), "EXPLAIN QUERY PLAN ")
        if walks := _index_walks(plan):
            scans.append(f"{connector.name}.{name}: {walks}")
    assert scans == []


@ON_THE_SQLITE_HUB
def test_a_composite_key_is_searched_by_all_its_columns(hub: RunningHub) -> None:
    """A look-up by (project, month) searches the index on both, not every month of the
    project: SQLite searches `(a, b) IN (VALUES …)` by `a` alone, so the statement names
    each column's values too (`LoaderSpec.parameters`)."""
    partial, composite = [], 0
    for connector, name, spec in _specs(hub):
        columns = _key_columns(spec)
        if len(columns) < 2:
            continue
        composite += 1
        with closing(_reader(connector)) as reader:
            [sample] = _run(
                reader, select(*columns).where(*(c.is_not(None) for c in columns)).limit(1)
            )
            plan = _run(
                reader, spec.query.params(**spec.parameters([tuple(sample)])), "EXPLAIN QUERY PLAN "
            )
        searched = " ".join(step[3] for step in plan if step[3].startswith("SEARCH"))
        if not all(f"{column.key}=?" in searched for column in columns):
            partial.append(f"{connector.name}.{name}: {searched}")
    assert composite > 0
    assert partial == []


def test_a_composite_key_binds_each_column_s_values() -> None:
    """The pairs, and each column's distinct values in the order they first come; a
    single column's look-up binds its keys alone."""
    table = Table("t", MetaData(), Column("a", String), Column("b", Integer))
    keys: list[Hashable] = [("a", 1), ("b", 1), ("a", 2)]
    by_pair = many_by((table.c.a, table.c.b))
    assert by_pair.parameters(keys) == {"keys": keys, "keys_0": ["a", "b"], "keys_1": [1, 2]}
    assert one_by(table.c.a).parameters(["a", "b"]) == {"keys": ["a", "b"]}


@ON_THE_SQLITE_HUB
def test_an_index_walk_would_be_seen(hub: RunningHub) -> None:
    """The check above reads real plans: a look-up by a column without an index, ordered
    by an indexed one, walks that index."""
    housing = next(c for c in hub.connectors if c.name == "housing")
    with closing(_reader(housing)) as reader:
        plan = reader.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM housing_worker WHERE name = ? ORDER BY id_number",
            ["张三"],
        ).fetchall()
    assert _index_walks(plan) != []


def test_every_ordered_look_up_is_in_a_total_order(hub: RunningHub) -> None:
    """Rows of one key come in `order_by` order with the table's primary key breaking
    ties, so an answer (and the bench's comparison with hand-written SQL) never depends on
    the plan the database happened to pick."""
    for connector, name, spec in _specs(hub):
        ordering = [getattr(c, "element", c) for c in spec.query._order_by_clauses]
        if not ordering:
            continue
        keys = _key_columns(spec)
        primary = list(_table_of(spec.columns).primary_key.columns)
        where = f"{connector.name}.{name}"
        assert all(a is b for a, b in zip(ordering, keys, strict=False)), where
        assert all(any(c is o for o in ordering) for c in primary), where
