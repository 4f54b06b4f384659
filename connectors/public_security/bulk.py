"""Whole-table reads for the warnings' evaluation (`graph.sweep`). In process only: not
`@served`, so no caller reaches them over the connector wire."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from connectors.public_security.graph import ResidenceStatus
from connectors.public_security.loaders import residence_t
from storage.database import Database


async def registered_on(database: Database, day: date) -> set[str]:
    """ID numbers of everyone with a temporary residence registration valid on the day
    (`ResidenceRecord.valid_on`)."""
    statement = select(residence_t.c.id_number).where(
        residence_t.c.status == ResidenceStatus.VALID.value,
        residence_t.c.registered_on <= day,
        residence_t.c.valid_until >= day,
    )
    return {row[0] for row in await database.fetch(statement)}
