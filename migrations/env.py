"""Alembic environment: each connector's own database, migrated with its own metadata.

`hub.migrate` passes the connectors in `config.attributes["connectors"]`; each revision
has one `upgrade_<agency>()` per connector and runs only that agency's part on its database.
"""

from __future__ import annotations

from alembic import context

from connectors.base import Connector

config = context.config
connectors: list[Connector] = config.attributes["connectors"]


def run_migrations_online() -> None:
    for connector in connectors:
        engine = connector.database.sync_engine()
        try:
            with engine.connect() as connection:
                context.configure(
                    connection=connection,
                    target_metadata=connector.metadata,
                    upgrade_token=f"{connector.name}_upgrades",
                    downgrade_token=f"{connector.name}_downgrades",
                    version_table=connector.version_table,
                    render_as_batch=connector.database.is_sqlite,
                    compare_type=True,
                )
                with context.begin_transaction():
                    context.run_migrations(engine_name=connector.name)
        finally:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `hub migrate`")
run_migrations_online()
