"""HR's batched loaders, created once per request."""

from __future__ import annotations

from connectors.database import Database
from connectors.hr.models import (
    BlacklistEntry,
    Complaint,
    CreditGrade,
    InjuryInsurance,
    WageDeposit,
)
from connectors.loading import AgencyLoaders
from schemas.batching import Waves

deposit_t = WageDeposit.__table__  # type: ignore[attr-defined]
complaint_t = Complaint.__table__  # type: ignore[attr-defined]
blacklist_t = BlacklistEntry.__table__  # type: ignore[attr-defined]
grade_t = CreditGrade.__table__  # type: ignore[attr-defined]
insurance_t = InjuryInsurance.__table__  # type: ignore[attr-defined]


class HrLoaders(AgencyLoaders):
    def __init__(self, database: Database, waves: Waves) -> None:
        super().__init__(database, waves)
        self.deposit_by_project = self.one_by(deposit_t.c.project_code)
        self.grade_by_enterprise = self.one_by(grade_t.c.enterprise_uscc)
        self.blacklist_by_enterprise = self.many_by(
            blacklist_t.c.enterprise_uscc, order_by=[blacklist_t.c.listed_on]
        )
        self.complaints_by_enterprise = self.many_by(
            complaint_t.c.enterprise_uscc, order_by=[complaint_t.c.filed_on]
        )
        self.complaints_by_project = self.many_by(
            complaint_t.c.project_code, order_by=[complaint_t.c.filed_on]
        )
        self.complaints_by_worker = self.many_by(
            complaint_t.c.worker_id_number, order_by=[complaint_t.c.filed_on]
        )
        self.insurance_by_project = self.many_by(
            insurance_t.c.project_code, order_by=[insurance_t.c.insured_from]
        )
