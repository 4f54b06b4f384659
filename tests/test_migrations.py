"""One migration history creates every agency's tables, on SQLite and PostgreSQL, and
agrees with the models (autogenerate finds nothing to change)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from conftest import backend_settings
from hub import migrate
from hub.wiring import build_connectors


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_create_every_table_and_match_the_models(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    connectors = build_connectors(backend_settings(backend, tmp_path, "hub_migrations"))
    migrate.upgrade(connectors)
    for connector in connectors:
        engine = connector.database.sync_engine()
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert set(connector.metadata.tables) | {connector.version_table} == tables
        assert migrate.drift(connector) == [], connector.name
    migrate.upgrade(connectors)  # idempotent at head
