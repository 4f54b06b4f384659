"""Every agency's importable tables agree with its models: the columns written exist, the
natural key is a unique constraint the upsert can name, a stored row reads back as the
file's row and goes in again as the same stored row, and the published data dictionary
is the one the declarations give."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import UniqueConstraint

from connectors.base import discover
from hub.data_dictionary import dictionary
from hub.importing import agency_tables
from ingest.targets import Importable

ROOT = Path(__file__).resolve().parents[2]
TABLES = [
    table for connector in discover() if (tables := agency_tables(connector)) for table in tables
]


def test_every_agency_declares_importable_tables() -> None:
    assert {c.name for c in discover() if agency_tables(c) is None} == set()
    assert len(TABLES) == 24


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.agency}.{t.name}")
def test_the_natural_key_is_unique_in_the_database(table: Importable) -> None:
    keys = {tuple(c.name for c in table.table.primary_key.columns)} | {
        tuple(c.name for c in constraint.columns)
        for constraint in table.table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    assert table.key in keys


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.agency}.{t.name}")
def test_every_required_stored_column_is_written(table: Importable) -> None:
    """A NOT NULL column without a default that an import leaves out would fail the upsert."""
    for column in table.table.columns:
        if column.nullable or column.primary_key or column.name == "batch_id":
            continue
        assert column.name in table.written, f"{table.table.name}.{column.name}"


@pytest.mark.parametrize("table", TABLES, ids=lambda t: f"{t.agency}.{t.name}")
def test_the_spec_key_names_spec_columns(table: Importable) -> None:
    assert set(table.spec.key) <= set(table.spec.column_names)
    assert table.agency == table.spec.agency


def test_the_published_data_dictionary_is_current() -> None:
    """`python -m hub.data_dictionary > docs/data-dictionary.md` (or `make schema`)."""
    committed = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert committed == dictionary()
