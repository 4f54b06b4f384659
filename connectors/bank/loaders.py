"""The bank's batched loaders, created once per request."""

from __future__ import annotations

from sqlalchemy import select

from connectors.bank.models import (
    Allocation,
    Disbursement,
    ImportBatch,
    PayrollCard,
    WageAccount,
)
from connectors.loading import AgencyLoaders, as_of_served, many_by, one_by

account_t = WageAccount.__table__  # type: ignore[attr-defined]
allocation_t = Allocation.__table__  # type: ignore[attr-defined]
disbursement_t = Disbursement.__table__  # type: ignore[attr-defined]
card_t = PayrollCard.__table__  # type: ignore[attr-defined]


# Each disbursement with the bank keeping its account, so a bank client sees only its own.
_PAID_FROM = select(disbursement_t, account_t.c.bank_name).join(
    account_t, account_t.c.account_no == disbursement_t.c.account_no
)


class BankLoaders(AgencyLoaders):
    data_as_of = as_of_served(ImportBatch.__table__)  # type: ignore[attr-defined]
    account_by_project = one_by(account_t.c.project_code)
    accounts_by_holder = many_by(account_t.c.holder_uscc, order_by=[account_t.c.opened_on])
    allocations_by_project = many_by(
        account_t.c.project_code,
        select(allocation_t, account_t.c.project_code, account_t.c.bank_name).join(
            account_t, account_t.c.account_no == allocation_t.c.account_no
        ),
        order_by=[allocation_t.c.transferred_on],
    )
    disbursements_by_worker = many_by(
        disbursement_t.c.worker_id_number, _PAID_FROM, order_by=[disbursement_t.c.paid_on]
    )
    disbursements_by_project_period = many_by(
        (disbursement_t.c.project_code, disbursement_t.c.period),
        _PAID_FROM,
        order_by=[disbursement_t.c.worker_id_number],
    )
    cards_by_worker = many_by(card_t.c.worker_id_number)
