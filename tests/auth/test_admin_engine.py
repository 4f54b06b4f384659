"""The auth store's administrative calls (`hub clients`, `hub users`, the demo's
registration at a hub's start) share the database's one-off engine: none makes an engine
of its own, which set up its dialect and compiled its statements again each call (and on
PostgreSQL started a server backend), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from auth.staff import StaffStore
from auth.store import Grant
from conftest import TEST_PURPOSE, migrated_settings
from hub.wiring import build_auth_store
from kernel.scopes import vocabulary
from storage.database import Database


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_administrative_calls_make_no_engine_each(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = build_auth_store(migrated_settings(backend, tmp_path, "hub_admin_engine"))
    grant = Grant("test", vocabulary(), (TEST_PURPOSE,))
    store.add_client("first-client", grant)  # the one-off engine made here, once
    made: list[dict[str, Any]] = []
    sync_engine = Database.sync_engine

    def counted(self: Database, **options: Any) -> Engine:
        made.append(options)
        return sync_engine(self, **options)

    monkeypatch.setattr(Database, "sync_engine", counted)
    store.add_client("second-client", grant)
    store.rotate_secret("second-client")
    assert [c.client_id for c in store.clients()] == ["first-client", "second-client"]
    StaffStore(store).add_user("li.na", "second-client", "clerk")
    assert made == []
