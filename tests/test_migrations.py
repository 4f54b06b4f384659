"""One migration history creates every agency's tables and the auth store's, on SQLite and
PostgreSQL, and agrees with the models (autogenerate finds nothing to change)."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from conftest import backend_settings
from hub.wiring import (
    build_alert_store,
    build_audit_store,
    build_auth_store,
    build_connectors,
    build_facts_store,
    migration_targets,
)
from storage import migrate


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_migrations_create_every_table_and_match_the_models(backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = backend_settings(backend, tmp_path, "hub_migrations")
    auth = build_auth_store(settings)
    targets = migration_targets(
        build_connectors(settings),
        auth,
        build_audit_store(settings, auth),
        build_alert_store(settings),
        build_facts_store(settings),
    )
    assert [target.name for target in targets][-4:] == ["auth", "audit", "alerts", "facts"]
    migrate.upgrade(targets)
    for target in targets:
        engine = target.database.sync_engine()
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
        assert set(target.metadata.tables) | {target.version_table} == tables
        assert migrate.drift(target) == [], target.name
    migrate.upgrade(targets)  # idempotent at head
