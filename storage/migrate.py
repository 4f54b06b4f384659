"""Applying and checking migrations. Every store — each agency's database, the auth store,
the audit log — is a migration target with its own tables, its own version table and its
own history, kept in its own package (`connectors/bank/migrations/`), so a new agency
brings its history with it and nothing else changes.

One Alembic environment (`storage/alembic/env.py`) serves every target: `hub migrate`
runs each target's history on that target's database.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, MetaData

from kernel.errors import MigrationRefused
from storage.database import Database

ENVIRONMENT_DIR = Path(__file__).resolve().parent / "alembic"


class MigrationTarget(Protocol):
    """A database with its own history: a connector, the auth store, the audit store."""

    @property
    def name(self) -> str: ...
    @property
    def database(self) -> Database: ...
    @property
    def metadata(self) -> MetaData: ...
    @property
    def version_table(self) -> str: ...
    @property
    def migrations(self) -> Path:
        """The directory of this target's revisions."""
        ...


def alembic_config(target: MigrationTarget) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ENVIRONMENT_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(target.migrations))
    config.attributes["target"] = target
    return config


def heads(target: MigrationTarget) -> set[str]:
    """The newest revisions of the target's history."""
    return set(ScriptDirectory.from_config(alembic_config(target)).get_heads())


def current_heads(connection: Connection, target: MigrationTarget) -> set[str]:
    """The revisions the target's database is at (empty: never migrated)."""
    context = MigrationContext.configure(connection, opts={"version_table": target.version_table})
    return set(context.get_current_heads())


def upgrade(targets: Sequence[MigrationTarget], revision: str = "head") -> None:
    for target in targets:
        try:
            command.upgrade(alembic_config(target), revision)
        except CommandError as error:
            raise MigrationRefused(
                f"{target.name}: {error}. A database migrated before each store kept its own "
                "history cannot be upgraded in place: recreate it (`make clean` for the demo)"
                if "Can't locate revision" in str(error)
                else f"{target.name}: {error}"
            ) from error


def new_revision(targets: Sequence[MigrationTarget], message: str) -> list[str]:
    """Autogenerates a revision in the history of each target whose models and database
    differ (migrated to head first); returns the names of those targets."""
    changed = []
    for target in targets:
        upgrade([target])
        if not drift(target):
            continue
        target.migrations.mkdir(parents=True, exist_ok=True)
        config = alembic_config(target)
        has_history = ScriptDirectory.from_config(config).get_current_head() is not None
        command.revision(
            config,
            message=message,
            autogenerate=True,
            head="head" if has_history else "base",
            version_path=os.fspath(target.migrations),
        )
        changed.append(target.name)
    return changed


def drift(target: MigrationTarget) -> list[object]:
    """What autogenerate would change in this target's database: empty when the
    migrations and the models agree."""
    engine = target.database.sync_engine()
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "version_table": target.version_table},
            )
            return list(compare_metadata(context, target.metadata))
    finally:
        engine.dispose()
