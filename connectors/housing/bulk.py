"""Month-wide reads for the warnings' evaluation (`graph.sweep`): one statement for every
project at once, answered as compact rows. In process only: they are not `@served`, so
no caller reaches them over the connector wire (they are not bounded by any caller's
jurisdiction or row limit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, case, distinct, exists, func, or_, select

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


def _in_force(project: Any, worker: Any, month: date, last_day: date) -> Any:
    """A contract of the worker on the project in force on any day of the month
    (`graph.derived.wages.covers`)."""
    return and_(
        contract_t.c.project_code == project,
        contract_t.c.worker_id_number == worker,
        contract_t.c.start_date <= last_day,
        or_(contract_t.c.end_date.is_(None), contract_t.c.end_date >= month),
    )


async def attended(
    database: Database, month: date, last_day: date, status: str, codes: Sequence[str] | None
) -> list[Row[Any]]:
    """(project_code, worker_id_number, days_present, daily_wage_fen) of every worker who
    attended, in the month, a project with the status started by `last_day` (of `codes`:
    None, any); the daily wage of the latest-signed contract in force (None: none), looked
    up by the database, row by row through the contracts' worker index."""
    a = attendance_t.c
    daily = (
        select(contract_t.c.daily_wage_fen)
        .where(_in_force(a.project_code, a.worker_id_number, month, last_day))
        .order_by(contract_t.c.signed_on.desc(), contract_t.c.contract_no)
        .limit(1)
        .scalar_subquery()
    )
    statement = (
        select(a.project_code, a.worker_id_number, a.days_present, daily.label("daily_wage_fen"))
        .join(project_t, _on_started(a.project_code, status, last_day))
        .where(a.month == month, a.days_present > 0)
    )
    return await database.fetch_in(statement, a.project_code, codes)


async def registered(
    database: Database, month: date, last_day: date, status: str, codes: Sequence[str] | None
) -> list[Row[Any]]:
    """(project_code, workers, uncontracted, absent) per such project: the workers with a
    registration open during the month, of them those without a contract in force, and
    those without attendance — counted by the database, not sent row by row."""
    r = registration_t.c
    contracted = exists().where(_in_force(r.project_code, r.worker_id_number, month, last_day))
    present = exists().where(
        attendance_t.c.project_code == r.project_code,
        attendance_t.c.worker_id_number == r.worker_id_number,
        attendance_t.c.month == month,
        attendance_t.c.days_present > 0,
    )
    statement = (
        select(
            r.project_code,
            func.count(distinct(r.worker_id_number)).label("workers"),
            func.count(distinct(case((~contracted, r.worker_id_number)))).label("uncontracted"),
            func.count(distinct(case((~present, r.worker_id_number)))).label("absent"),
        )
        .join(project_t, _on_started(r.project_code, status, last_day))
        .where(r.entry_date <= last_day, or_(r.exit_date.is_(None), r.exit_date >= month))
        .group_by(r.project_code)
    )
    return await database.fetch_in(statement, r.project_code, codes)


async def on_sites(database: Database, regions: Sequence[str]) -> list[Row[Any]]:
    """(worker_id_number, region_code) of every worker with an open registration on a
    site (of any status) in one of the regions (six-digit codes); a worker may appear
    more than once."""
    found: list[Row[Any]] = []
    for start in range(0, len(regions), CHUNK):
        statement = (
            select(registration_t.c.worker_id_number, project_t.c.region_code)
            .join(project_t, project_t.c.code == registration_t.c.project_code)
            .where(
                registration_t.c.exit_date.is_(None),
                project_t.c.region_code.in_(list(regions[start : start + CHUNK])),
            )
        )
        found.extend(await database.fetch(statement))
    return found


async def employers(database: Database, usccs: Sequence[str]) -> list[Row[Any]]:
    """(project_code, employer_uscc) of every project with a registered worker employed
    by one of the enterprises, whatever the registration's dates."""
    found: list[Row[Any]] = []
    for start in range(0, len(usccs), CHUNK):
        statement = (
            select(registration_t.c.project_code, registration_t.c.employer_uscc)
            .where(registration_t.c.employer_uscc.in_(list(usccs[start : start + CHUNK])))
            .distinct()
        )
        found.extend(await database.fetch(statement))
    return found


async def representatives(
    database: Database, usccs: Sequence[str], people: Sequence[str]
) -> list[Row[Any]]:
    """(uscc, legal_representative) of the enterprises, and of every enterprise whose
    legal representative is one of the people."""
    found: list[Row[Any]] = []
    columns = (enterprise_t.c.uscc, enterprise_t.c.legal_representative)
    for start in range(0, len(usccs), CHUNK):
        chunk = list(usccs[start : start + CHUNK])
        found.extend(await database.fetch(select(*columns).where(enterprise_t.c.uscc.in_(chunk))))
    for start in range(0, len(people), CHUNK):
        chunk = list(people[start : start + CHUNK])
        found.extend(
            await database.fetch(
                select(*columns).where(enterprise_t.c.legal_representative.in_(chunk))
            )
        )
    return found
