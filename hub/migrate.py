"""Applying and checking the one migration history across every agency's database and
the auth store's: each is a migration target with its own metadata and version table."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import MetaData

from storage.database import Database

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class MigrationTarget(Protocol):
    """A database the migration history applies to: a connector, or the auth store."""

    @property
    def name(self) -> str: ...
    @property
    def database(self) -> Database: ...
    @property
    def metadata(self) -> MetaData: ...
    @property
    def version_table(self) -> str: ...


def alembic_config(targets: Sequence[MigrationTarget]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("databases", ", ".join(t.name for t in targets))
    config.attributes["targets"] = list(targets)
    return config


def upgrade(targets: Sequence[MigrationTarget], revision: str = "head") -> None:
    command.upgrade(alembic_config(targets), revision)


def new_revision(targets: Sequence[MigrationTarget], message: str) -> None:
    """Autogenerates a revision from the difference between models and databases."""
    command.revision(alembic_config(targets), message=message, autogenerate=True)


def drift(target: MigrationTarget) -> list[object]:
    """What autogenerate would change in this target's database: empty when the
    migrations and the models agree."""
    engine = target.database.sync_engine()
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "version_table": target.version_table,
                },
            )
            return list(compare_metadata(context, target.metadata))
    finally:
        engine.dispose()
