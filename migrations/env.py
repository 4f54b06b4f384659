"""Alembic environment: each target's own database (every connector's, and the auth
store's), migrated with its own metadata.

`hub.migrate` passes the targets in `config.attributes["targets"]`; each revision has one
`upgrade_<name>()` per target and runs only that target's part on its database.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import TypeDecorator

from hub.migrate import MigrationTarget

config = context.config
targets: list[MigrationTarget] = config.attributes["targets"]


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Our own column types (`UTCDateTime`) render as what they store, so that revisions
    never import application code."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


def run_migrations_online() -> None:
    for target in targets:
        engine = target.database.sync_engine()
        try:
            with engine.connect() as connection:
                context.configure(
                    connection=connection,
                    target_metadata=target.metadata,
                    upgrade_token=f"{target.name}_upgrades",
                    downgrade_token=f"{target.name}_downgrades",
                    version_table=target.version_table,
                    render_as_batch=target.database.is_sqlite,
                    compare_type=True,
                    render_item=render_item,
                )
                with context.begin_transaction():
                    context.run_migrations(engine_name=target.name)
        finally:
            engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `hub migrate`")
run_migrations_online()
