"""Alembic's environment for one target (`storage.migrate` passes it in
`config.attributes["target"]`): its database, its metadata, its version table."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import TypeDecorator

from storage.migrate import MigrationTarget

target: MigrationTarget = context.config.attributes["target"]


def render_item(kind: str, item: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Our own column types (`UTCDateTime`) render as what they store, so that revisions
    never import application code."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


def run_migrations_online() -> None:
    engine = target.database.sync_engine()
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=target.metadata,
                version_table=target.version_table,
                render_as_batch=target.database.is_sqlite,
                compare_type=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: run `hub migrate`")
run_migrations_online()
