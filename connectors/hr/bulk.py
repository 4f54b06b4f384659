"""Whole-table reads for the warnings' evaluation (`graph.sweep`), as compact rows. In
process only: not `@served`, so no caller reaches them over the connector wire."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select

from connectors.hr.loaders import blacklist_t, deposit_t
from storage.database import Database


async def deposits(database: Database) -> list[Row[Any]]:
    """(project_code, status) of every wage deposit."""
    return list(await database.fetch(select(deposit_t.c.project_code, deposit_t.c.status)))


async def blacklist(database: Database) -> list[Row[Any]]:
    """Every blacklist entry, listed or removed."""
    return list(await database.fetch(select(blacklist_t).order_by(blacklist_t.c.listed_on)))
