"""SQLite databases are private from their first byte: the directory 0700, the file and
its -wal/-shm 0600, whatever the umask; a file left open by an older version is
narrowed when it is next opened."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.database import Database


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def _open_umask() -> Iterator[None]:
    """The usual umask, under which SQLite alone would create 0644 files."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_a_new_database_and_its_directory_are_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "audit.db"
    database = Database(f"sqlite:///{path}")
    engine = database.sync_engine()
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            connection.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as connection:  # open: the -wal and -shm files exist now
            connection.execute(text("SELECT x FROM t")).all()
            companions = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
            assert all(file.exists() for file in companions)
            assert {file.name: _mode(file) for file in companions} == {
                "audit.db-wal": 0o600,
                "audit.db-shm": 0o600,
            }
    finally:
        engine.dispose()
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_the_serving_path_creates_it_private_too(tmp_path: Path) -> None:
    path = tmp_path / "served" / "auth.db"
    database = Database(f"sqlite:///{path}")

    async def write_and_read() -> None:
        try:
            async with database.engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            assert await database.fetch(text("SELECT count(*) FROM t")) is not None
        finally:
            await database.dispose()

    asyncio.run(write_and_read())
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700


def test_a_file_left_world_readable_is_narrowed(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    for name in ("old.db", "old.db-wal"):
        (tmp_path / name).touch(mode=0o644)
    engine = Database(f"sqlite:///{path}").sync_engine()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1")).all()
    finally:
        engine.dispose()
    assert _mode(path) == 0o600
    for name in ("old.db-wal", "old.db-shm"):
        if (tmp_path / name).exists():
            assert _mode(tmp_path / name) == 0o600
