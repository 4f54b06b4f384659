"""The bank's batched loaders, created once per request."""

from __future__ import annotations

from sqlalchemy import select

from connectors.bank.models import Allocation, Disbursement, PayrollCard, WageAccount
from connectors.database import Database
from connectors.loading import AgencyLoaders
from schemas.batching import Waves

account_t = WageAccount.__table__  # type: ignore[attr-defined]
allocation_t = Allocation.__table__  # type: ignore[attr-defined]
disbursement_t = Disbursement.__table__  # type: ignore[attr-defined]
card_t = PayrollCard.__table__  # type: ignore[attr-defined]


class BankLoaders(AgencyLoaders):
    def __init__(self, database: Database, waves: Waves) -> None:
        super().__init__(database, waves)
        self.account_by_project = self.one_by(account_t.c.project_code)
        self.accounts_by_holder = self.many_by(
            account_t.c.holder_uscc, order_by=[account_t.c.opened_on]
        )
        self.allocations_by_project = self.many_by(
            account_t.c.project_code,
            select(allocation_t, account_t.c.project_code, account_t.c.bank_name).join(
                account_t, account_t.c.account_no == allocation_t.c.account_no
            ),
            order_by=[allocation_t.c.transferred_on],
        )
        paid_from = select(disbursement_t, account_t.c.bank_name).join(
            account_t, account_t.c.account_no == disbursement_t.c.account_no
        )
        self.disbursements_by_worker = self.many_by(
            disbursement_t.c.worker_id_number, paid_from, order_by=[disbursement_t.c.paid_on]
        )
        self.disbursements_by_project_period = self.many_by(
            (disbursement_t.c.project_code, disbursement_t.c.period),
            paid_from,
            order_by=[disbursement_t.c.worker_id_number],
        )
        self.cards_by_worker = self.many_by(card_t.c.worker_id_number)
