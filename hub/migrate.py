"""Applying and checking the one migration history across every agency's database."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from connectors.base import Connector

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(connectors: Sequence[Connector]) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("databases", ", ".join(c.name for c in connectors))
    config.attributes["connectors"] = list(connectors)
    return config


def upgrade(connectors: Sequence[Connector], revision: str = "head") -> None:
    command.upgrade(alembic_config(connectors), revision)


def new_revision(connectors: Sequence[Connector], message: str) -> None:
    """Autogenerates a revision from the difference between models and databases."""
    command.revision(alembic_config(connectors), message=message, autogenerate=True)


def drift(connector: Connector) -> list[object]:
    """What autogenerate would change in this agency's database: empty when the
    migrations and the models agree."""
    engine = connector.database.sync_engine()
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "version_table": connector.version_table,
                },
            )
            return list(compare_metadata(context, connector.metadata))
    finally:
        engine.dispose()
