"""Month-wide reads for the warnings' evaluation (`graph.sweep`): one statement for every
project at once, answered as compact rows — those with a row per worker as the driver's
tuples (`Database.fetch(raw=True)`: a date may be ISO text on SQLite, only compared).
In process only: they are not `@served`, so no caller reaches them over the connector
wire (they are not bounded by any caller's jurisdiction or row limit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, or_, select

from connectors.housing.loaders import (
    attendance_t,
    contract_t,
    enterprise_t,
    project_t,
    registration_t,
)
from storage.database import Database

CHUNK = 2000


async def projects(database: Database, status: str) -> list[Row[Any]]:
    """Every project with the status, in code order."""
    statement = (
        select(
            project_t.c.code,
            project_t.c.region_code,
            project_t.c.start_date,
            project_t.c.builder_uscc,
            project_t.c.contractor_uscc,
            project_t.c.rights_notice_board,
            project_t.c.payment_guarantee,
        )
        .where(project_t.c.status == status)
        .order_by(project_t.c.code)
    )
    return list(await database.fetch(statement))


def _on_started(column: Any, status: str, last_day: date) -> Any:
    """Joins the row's project, when it has the status and started by `last_day`."""
    return and_(
        project_t.c.code == column,
        project_t.c.status == status,
        project_t.c.start_date <= last_day,
    )


async def attended(
    database: Database, month: date, last_day: date, status: str, codes: Sequence[str] | None
) -> list[Any]:
    """(project_code, worker_id_number, days_present) of every worker who attended, in
    the month, a project with the status started by `last_day` (of `codes`: None, any)."""
    statement = (
        select(
            attendance_t.c.project_code,
            attendance_t.c.worker_id_number,
            attendance_t.c.days_present,
        )
        .join(project_t, _on_started(attendance_t.c.project_code, status, last_day))
        .where(attendance_t.c.month == month, attendance_t.c.days_present > 0)
    )
    return await database.fetch_in(statement, attendance_t.c.project_code, codes, raw=True)


async def contracted(
    database: Database, month: date, last_day: date, status: str, codes: Sequence[str] | None
) -> list[Any]:
    """(project_code, worker_id_number, signed_on, daily_wage_fen) of every contract in
    force on any day of the month (`graph.derived.wages.covers`) on such a project."""
    statement = (
        select(
            contract_t.c.project_code,
            contract_t.c.worker_id_number,
            contract_t.c.signed_on,
            contract_t.c.daily_wage_fen,
        )
        .join(project_t, _on_started(contract_t.c.project_code, status, last_day))
        .where(
            contract_t.c.start_date <= last_day,
            or_(contract_t.c.end_date.is_(None), contract_t.c.end_date >= month),
        )
    )
    return await database.fetch_in(statement, contract_t.c.project_code, codes, raw=True)


async def registered(
    database: Database, month: date, last_day: date, status: str, codes: Sequence[str] | None
) -> list[Any]:
    """(project_code, worker_id_number) of every registration open during the month on
    such a project (a worker may appear more than once)."""
    statement = (
        select(registration_t.c.project_code, registration_t.c.worker_id_number)
        .join(project_t, _on_started(registration_t.c.project_code, status, last_day))
        .where(
            registration_t.c.entry_date <= last_day,
            or_(registration_t.c.exit_date.is_(None), registration_t.c.exit_date >= month),
        )
    )
    return await database.fetch_in(statement, registration_t.c.project_code, codes, raw=True)


async def attending(database: Database, month: date, workers: Sequence[str]) -> list[Any]:
    """(project_code, worker_id_number) of the workers' attendance in the month, on any
    project."""
    a = attendance_t.c
    statement = select(a.project_code, a.worker_id_number).where(
        a.month == month, a.days_present > 0
    )
    return await database.fetch_in(statement, a.worker_id_number, workers, raw=True)


async def on_sites(database: Database, regions: Sequence[str]) -> list[Row[Any]]:
    """(worker_id_number, region_code) of every worker with an open registration on a
    site (of any status) in one of the regions (six-digit codes); a worker may appear
    more than once."""
    statement = (
        select(registration_t.c.worker_id_number, project_t.c.region_code)
        .join(project_t, project_t.c.code == registration_t.c.project_code)
        .where(registration_t.c.exit_date.is_(None))
    )
    return await database.fetch_in(statement, project_t.c.region_code, regions, CHUNK)


async def employers(database: Database, usccs: Sequence[str]) -> list[Row[Any]]:
    """(project_code, employer_uscc) of every project with a registered worker employed
    by one of the enterprises, whatever the registration's dates."""
    r = registration_t.c
    statement = select(r.project_code, r.employer_uscc).distinct()
    return await database.fetch_in(statement, r.employer_uscc, usccs, CHUNK)


async def representatives(
    database: Database, usccs: Sequence[str], people: Sequence[str]
) -> list[Row[Any]]:
    """(uscc, legal_representative) of the enterprises, and of every enterprise whose
    legal representative is one of the people."""
    e = enterprise_t.c
    statement = select(e.uscc, e.legal_representative)
    return [
        *await database.fetch_in(statement, e.uscc, usccs, CHUNK),
        *await database.fetch_in(statement, e.legal_representative, people, CHUNK),
    ]
