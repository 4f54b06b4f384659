"""The banks' rows from the synthetic world: special accounts, allocations, payroll, cards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from connectors.bank.models import Allocation, Disbursement, PayrollCard, WageAccount
from synthetic.world import WorldBatch, seed_table


def rows_for(batch: WorldBatch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield (
        seed_table(WageAccount),
        [
            {
                "account_no": p.account.account_no,
                "bank_name": p.account.bank_name,
                "project_code": p.code,
                "holder_uscc": p.contractor_uscc,
                "opened_on": p.account.opened_on,
                "status": p.account.status,
            }
            for p in batch.projects
            if p.account is not None
        ],
    )
    yield (
        seed_table(Allocation),
        [
            {
                "account_no": a.account_no,
                "payer_uscc": a.payer_uscc,
                "period": a.period,
                "transferred_on": a.transferred_on,
                "amount_fen": a.amount_fen,
            }
            for a in batch.allocations
        ],
    )
    yield (
        seed_table(Disbursement),
        [
            {
                "account_no": m.payment.account_no,
                "project_code": e.project_code,
                "worker_id_number": w.id_number,
                "card_no": w.card.card_no,
                "pay_month": m.month,
                "period": m.month,
                "paid_on": m.payment.paid_on,
                "amount_fen": m.payment.amount_fen,
                "status": m.payment.status,
                "is_back_pay": False,
            }
            for w, e, m in batch.work_months()
            if m.payment is not None
        ],
    )
    yield (
        seed_table(PayrollCard),
        [
            {
                "card_no": w.card.card_no,
                "worker_id_number": w.id_number,
                "bank_name": w.card.bank_name,
                "opened_on": w.card.opened_on,
            }
            for w in batch.workers
        ],
    )
