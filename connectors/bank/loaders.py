"""The bank's batched loaders, created once per request."""

from __future__ import annotations

from sqlalchemy import select

from connectors.bank.models import Allocation, Disbursement, PayrollCard, WageAccount
from connectors.database import Database
from connectors.loading import many_by, one_by

account_t = WageAccount.__table__  # type: ignore[attr-defined]
allocation_t = Allocation.__table__  # type: ignore[attr-defined]
disbursement_t = Disbursement.__table__  # type: ignore[attr-defined]
card_t = PayrollCard.__table__  # type: ignore[attr-defined]


class BankLoaders:
    def __init__(self, database: Database) -> None:
        self.account_by_project = one_by(database, account_t.c.project_code)
        self.accounts_by_holder = many_by(
            database, account_t.c.holder_uscc, order_by=[account_t.c.opened_on]
        )
        self.allocations_by_project = many_by(
            database,
            account_t.c.project_code,
            select(allocation_t, account_t.c.project_code).join(
                account_t, account_t.c.account_no == allocation_t.c.account_no
            ),
            order_by=[allocation_t.c.transferred_on],
        )
        self.disbursements_by_worker = many_by(
            database, disbursement_t.c.worker_id_number, order_by=[disbursement_t.c.paid_on]
        )
        self.disbursements_by_project_period = many_by(
            database,
            (disbursement_t.c.project_code, disbursement_t.c.period),
            order_by=[disbursement_t.c.worker_id_number],
        )
        self.cards_by_worker = many_by(database, card_t.c.worker_id_number)
