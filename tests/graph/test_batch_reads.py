"""After an import, the warning facts' refresh and the warnings' sweep read the rows of
the batches written since they last looked (`graph.facts.changes`). Each such read
searches its table by the batch index, so its cost follows what the import wrote, not
how many rows the agency has ever sent: at a million workers a scan of the payroll or
attendance table is seconds, for an import of ten rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from conftest import migrated_settings
from connectors.base import Connector
from graph.facts.changes import WATCHED, Watched, allocation_rows
from hub.importing import agency_tables
from hub.wiring import build_connectors

WATCHED_TABLES = [(agency, watched) for agency, tables in WATCHED.items() for watched in tables]


def _migrated(backend: str, tmp: Path) -> dict[str, Connector]:
    """The agencies' databases as `hub migrate` leaves them (the test process's copies)."""
    return {c.name: c for c in build_connectors(migrated_settings(backend, tmp, "batches"))}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def connectors(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Connector]:
    return _migrated(request.param, tmp_path_factory.mktemp("batch_reads"))


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Connector]:
    """SQLite's plans (PostgreSQL's planner chooses by the table's statistics, and on a
    test's handful of rows rightly scans; the index's presence is checked on both)."""
    return _migrated("sqlite", tmp_path_factory.mktemp("batch_plans"))


def _engine(connector: Connector) -> Engine:
    return connector.database.sync_engine()


def test_every_importable_table_indexes_its_batch(connectors: dict[str, Connector]) -> None:
    """On both backends, as `hub migrate` leaves them."""
    for connector in connectors.values():
        tables = agency_tables(connector)
        if tables is None:
            continue
        engine = _engine(connector)
        try:
            inspector = inspect(engine)
            for importable in tables:
                indexed = [i["column_names"] for i in inspector.get_indexes(importable.table.name)]
                assert ["batch_id"] in indexed, importable.table.name
        finally:
            engine.dispose()


def _sqlite_plan(connector: Connector, statement: Any) -> str:
    engine = _engine(connector)
    try:
        sql = str(statement.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").all()
        return " | ".join(str(row[-1]) for row in rows)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("agency", "watched"), WATCHED_TABLES, ids=[w.name for _, w in WATCHED_TABLES]
)
def test_rows_of_new_batches_are_searched_by_index(
    on_sqlite: dict[str, Connector], agency: str, watched: Watched
) -> None:
    plan = _sqlite_plan(on_sqlite[agency], watched.rows([3, 5]))
    assert f"INDEX ix_{watched.importable.table.name}_batch_id" in plan, plan


def test_allocations_of_new_batches_are_searched_by_index(
    on_sqlite: dict[str, Connector],
) -> None:
    plan = _sqlite_plan(on_sqlite["bank"], allocation_rows([3, 5]))
    assert "INDEX ix_bank_allocation_batch_id" in plan, plan
    assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), plan
