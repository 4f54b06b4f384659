"""Month-wide reads for the warnings' evaluation (`graph.sweep`): one statement for every
project at once, as compact rows. In process only: not `@served`, so no caller reaches
them over the connector wire."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Row, and_, func, select

from connectors.bank.graph import DisbursementStatus
from connectors.bank.loaders import account_t, allocation_t, disbursement_t
from storage.database import Database

PAID = DisbursementStatus.PAID.value


async def paid(
    database: Database,
    period: date,
    *,
    projects: Sequence[str] | None = None,
    workers: Sequence[str] | None = None,
) -> list[Any]:
    """(project_code, worker_id_number, amount_fen) of every disbursement with status
    paid counting for the month, from a project's special account (as the loaders see
    them), to the workers `workers` or on the projects `projects` (neither: any), as the
    driver's tuples. Not summed here: a GROUP BY costs SQLite a walk of the natural key's index."""
    statement = (
        select(
            disbursement_t.c.project_code,
            disbursement_t.c.worker_id_number,
            disbursement_t.c.amount_fen,
        )
        .join(account_t, account_t.c.account_no == disbursement_t.c.account_no)
        .where(disbursement_t.c.period == period, disbursement_t.c.status == PAID)
    )
    if workers is not None:
        return await database.fetch_in(
            statement, disbursement_t.c.worker_id_number, workers, raw=True
        )
    return await database.fetch_in(statement, disbursement_t.c.project_code, projects, raw=True)


async def accounts(database: Database, period: date) -> list[Row[Any]]:
    """(project_code, status, allocated_fen) of every special account: its status and
    the labour costs allocated into it for the month."""
    statement = (
        select(
            account_t.c.project_code,
            account_t.c.status,
            func.coalesce(func.sum(allocation_t.c.amount_fen), 0).label("allocated_fen"),
        )
        .outerjoin(
            allocation_t,
            and_(
                allocation_t.c.account_no == account_t.c.account_no,
                allocation_t.c.period == period,
            ),
        )
        .group_by(account_t.c.project_code, account_t.c.status)
    )
    return list(await database.fetch(statement))
