"""The housing bureau's rows from the synthetic world: what its real-name platform records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Table

from connectors.housing.models import (
    AttendanceMonth,
    Enterprise,
    LabourContract,
    Project,
    Registration,
    SkillCertificate,
    Worker,
)
from synthetic.world import WorldBatch, seed_table


def rows_for(batch: WorldBatch) -> Iterator[tuple[Table, list[dict[str, Any]]]]:
    yield (
        seed_table(Enterprise),
        [
            {
                "uscc": e.uscc,
                "name": e.name,
                "kind": e.kind,
                "region_code": e.region_code,
                "qualification": e.qualification,
                "credit_score": e.credit_score,
                "legal_representative": e.legal_representative,
            }
            for e in batch.enterprises
        ],
    )
    yield (
        seed_table(Project),
        [
            {
                "code": p.code,
                "name": p.name,
                "region_code": p.region_code,
                "builder_uscc": p.builder_uscc,
                "contractor_uscc": p.contractor_uscc,
                "contract_price_fen": p.contract_price_fen,
                "start_date": p.start_date,
                "planned_end_date": p.planned_end_date,
                "status": p.status,
                "rights_notice_board": p.rights_notice_board,
                "payment_guarantee": p.payment_guarantee,
            }
            for p in batch.projects
        ],
    )
    yield (
        seed_table(Worker),
        [
            {"id_number": w.id_number, "name": w.name, "registered_on": w.registered_on}
            for w in batch.workers
        ],
    )
    employments = [(w, e) for w in batch.workers for e in w.employments]
    yield (
        seed_table(Registration),
        [
            {
                "worker_id_number": w.id_number,
                "project_code": e.project_code,
                "employer_uscc": e.employer_uscc,
                "team": e.team,
                "trade": e.trade,
                "entry_date": e.entry_date,
                "exit_date": e.exit_date,
            }
            for w, e in employments
        ],
    )
    yield (
        seed_table(AttendanceMonth),
        [
            {
                "worker_id_number": w.id_number,
                "project_code": e.project_code,
                "month": m.month,
                "days_present": m.days_present,
                "day_mask": m.day_mask,
            }
            for w, e, m in batch.work_months()
        ],
    )
    yield (
        seed_table(LabourContract),
        [
            {
                "contract_no": e.contract.contract_no,
                "worker_id_number": w.id_number,
                "project_code": e.project_code,
                "employer_uscc": e.employer_uscc,
                "signed_on": e.contract.signed_on,
                "start_date": e.entry_date,
                "end_date": e.contract.end_date,
                "daily_wage_fen": e.daily_wage_fen,
                "pay_day": e.pay_day,
            }
            for w, e in employments
            if e.contract is not None
        ],
    )
    yield (
        seed_table(SkillCertificate),
        [
            {
                "certificate_no": c.certificate_no,
                "worker_id_number": w.id_number,
                "trade": c.trade,
                "level": c.level,
                "issued_on": c.issued_on,
                "expires_on": c.expires_on,
            }
            for w in batch.workers
            for c in w.certificates
        ],
    )
