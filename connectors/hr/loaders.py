"""HR's batched loaders, created once per request."""

from __future__ import annotations

from connectors.hr.models import (
    BlacklistEntry,
    Complaint,
    CreditGrade,
    ImportBatch,
    InjuryInsurance,
    WageDeposit,
)
from connectors.loading import AgencyLoaders, as_of_served, many_by, one_by

deposit_t = WageDeposit.__table__  # type: ignore[attr-defined]
complaint_t = Complaint.__table__  # type: ignore[attr-defined]
blacklist_t = BlacklistEntry.__table__  # type: ignore[attr-defined]
grade_t = CreditGrade.__table__  # type: ignore[attr-defined]
insurance_t = InjuryInsurance.__table__  # type: ignore[attr-defined]


class HrLoaders(AgencyLoaders):
    data_as_of = as_of_served(ImportBatch.__table__)  # type: ignore[attr-defined]
    deposit_by_project = one_by(deposit_t.c.project_code)
    grade_by_enterprise = one_by(grade_t.c.enterprise_uscc)
    blacklist_by_enterprise = many_by(
        blacklist_t.c.enterprise_uscc, order_by=[blacklist_t.c.listed_on]
    )
    blacklist_by_responsible_person = many_by(
        blacklist_t.c.responsible_person, order_by=[blacklist_t.c.listed_on]
    )
    complaints_by_enterprise = many_by(
        complaint_t.c.enterprise_uscc, order_by=[complaint_t.c.filed_on]
    )
    complaints_by_project = many_by(complaint_t.c.project_code, order_by=[complaint_t.c.filed_on])
    complaints_by_worker = many_by(
        complaint_t.c.worker_id_number, order_by=[complaint_t.c.filed_on]
    )
    insurance_by_project = many_by(
        insurance_t.c.project_code, order_by=[insurance_t.c.insured_from]
    )
