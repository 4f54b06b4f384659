"""The HR bureau's rows from the synthetic world: deposits, complaints, blacklist, grades."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from connectors.hr.models import (
    BlacklistEntry,
    Complaint,
    CreditGrade,
    InjuryInsurance,
    WageDeposit,
)
from synthetic.world import WorldBatch, seed_table


def rows_for(batch: WorldBatch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield (
        seed_table(WageDeposit),
        [
            {
                "project_code": p.code,
                "enterprise_uscc": p.contractor_uscc,
                "amount_fen": p.deposit.amount_fen,
                "status": p.deposit.status,
                "paid_on": p.deposit.paid_on,
            }
            for p in batch.projects
            if p.deposit is not None
        ],
    )
    yield (
        seed_table(Complaint),
        [
            {
                "complaint_no": c.complaint_no,
                "kind": c.kind,
                "enterprise_uscc": c.enterprise_uscc,
                "project_code": c.project_code,
                "worker_id_number": c.worker_id_number,
                "filed_on": c.filed_on,
                "amount_fen": c.amount_fen,
                "status": c.status,
                "summary": c.summary,
            }
            for c in batch.complaints
        ],
    )
    yield (
        seed_table(BlacklistEntry),
        [
            {
                "decision_no": b.decision_no,
                "enterprise_uscc": b.enterprise_uscc,
                "responsible_person": b.responsible_person,
                "reason": b.reason,
                "listed_on": b.listed_on,
                "removed_on": b.removed_on,
            }
            for b in batch.blacklist
        ],
    )
    yield (
        seed_table(CreditGrade),
        [
            {"enterprise_uscc": e.uscc, "grade": e.credit_grade, "assessed_on": e.graded_on}
            for e in batch.enterprises
        ],
    )
    yield (
        seed_table(InjuryInsurance),
        [
            {
                "policy_no": p.insurance.policy_no,
                "project_code": p.code,
                "insured_from": p.insurance.insured_from,
                "insured_to": p.insurance.insured_to,
            }
            for p in batch.projects
            if p.insurance is not None
        ],
    )
