"""What HR contributes: wage deposits, complaints and inspections, the arrears blacklist,
employer credit grades and project work-injury insurance."""

from __future__ import annotations

import enum
from datetime import date

import strawberry

from connectors.hr.loaders import HrLoaders
from kernel import refs
from kernel.access import scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.ownership import belongs_to, discloses
from kernel.records import from_row, from_rows
from kernel.scalars import Fen
from kernel.scopes import ENTERPRISE_CREDIT, PROJECT_READ


@strawberry.enum(description="工资保证金状态")
class DepositStatus(enum.Enum):
    PAID = "paid"
    EXEMPT = "exempt"
    UNPAID = "unpaid"
    REFUNDED = "refunded"


@scoped_type(ENTERPRISE_CREDIT)
@strawberry.type(name="WageDeposit", description="工资保证金 lodged for a project")
class DepositRecord:
    enterprise_uscc: strawberry.Private[str]
    amount_fen: Fen
    status: DepositStatus
    paid_on: date | None

    @scoped_resolver(ENTERPRISE_CREDIT, description="The enterprise that lodged it")
    def enterprise(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.enterprise_uscc)


@belongs_to(Entity.PROJECT, "project_code")
@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(ENTERPRISE_CREDIT)
@strawberry.type(name="Complaint", description="欠薪投诉 or 劳动保障监察案件")
class ComplaintRecord:
    enterprise_uscc: strawberry.Private[str]
    project_code: strawberry.Private[str | None]
    worker_id_number: strawberry.Private[str | None]
    complaint_no: str
    kind: str = strawberry.field(description="complaint (投诉) or inspection (监察)")
    filed_on: date
    amount_fen: Fen
    status: str
    summary: str

    @scoped_resolver(ENTERPRISE_CREDIT)
    def enterprise(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.enterprise_uscc)

    @scoped_resolver(ENTERPRISE_CREDIT)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code) if self.project_code else None

    @scoped_resolver(
        ENTERPRISE_CREDIT, description="The complaining worker, when the complaint names one"
    )
    def worker(self) -> refs.WorkerRef | None:
        return refs.WorkerKey(id_number=self.worker_id_number) if self.worker_id_number else None


@scoped_type(ENTERPRISE_CREDIT)
@strawberry.type(name="BlacklistEntry", description="拖欠农民工工资失信联合惩戒对象名单 entry")
class BlacklistRecord:
    decision_no: str = strawberry.field(description="列入决定书文号")
    responsible_person: str = strawberry.field(description="负有责任的法定代表人或负责人")
    reason: str
    listed_on: date
    removed_on: date | None

    @scoped_resolver(ENTERPRISE_CREDIT, description="Still listed (not removed)")
    def current(self) -> bool:
        return self.removed_on is None


@scoped_type(ENTERPRISE_CREDIT)
@strawberry.type(name="CreditGrade", description="劳动保障守法诚信等级 A-D")
class GradeRecord:
    grade: str
    assessed_on: date


@scoped_type(PROJECT_READ)
@strawberry.type(name="InjuryInsurance", description="按项目参加工伤保险")
class InsuranceRecord:
    policy_no: str
    insured_from: date
    insured_to: date


def hr(info: Info) -> HrLoaders:
    return info.context.loaders(HrLoaders)


@strawberry.type
class HrWorker:
    id_number: strawberry.Private[str]

    @scoped_resolver(ENTERPRISE_CREDIT, description="Complaints this worker filed")
    async def complaints(self, info: Info) -> list[ComplaintRecord] | None:
        return from_rows(ComplaintRecord, await hr(info).complaints_by_worker.load(self.id_number))


@strawberry.type
class HrProject:
    code: strawberry.Private[str]

    @scoped_resolver(ENTERPRISE_CREDIT)
    async def wage_deposit(self, info: Info) -> DepositRecord | None:
        row = await hr(info).deposit_by_project.load(self.code)
        return from_row(DepositRecord, row) if row else None

    @scoped_resolver(
        ENTERPRISE_CREDIT, description="Complaints and inspection cases about this project"
    )
    async def complaints(self, info: Info) -> list[ComplaintRecord] | None:
        return from_rows(ComplaintRecord, await hr(info).complaints_by_project.load(self.code))

    @scoped_resolver(PROJECT_READ)
    async def injury_insurance(self, info: Info) -> list[InsuranceRecord] | None:
        return from_rows(InsuranceRecord, await hr(info).insurance_by_project.load(self.code))


@strawberry.type
class HrEnterprise:
    uscc: strawberry.Private[str]

    @scoped_resolver(
        ENTERPRISE_CREDIT, description="Blacklist entries, current and removed, oldest first"
    )
    async def blacklist_entries(self, info: Info) -> list[BlacklistRecord] | None:
        return from_rows(BlacklistRecord, await hr(info).blacklist_by_enterprise.load(self.uscc))

    @scoped_resolver(ENTERPRISE_CREDIT, description="Whether a blacklist entry is current")
    async def blacklisted(self, info: Info) -> bool | None:
        entries = await hr(info).blacklist_by_enterprise.load(self.uscc)
        return any(entry.removed_on is None for entry in entries)

    @scoped_resolver(ENTERPRISE_CREDIT)
    async def credit_grade(self, info: Info) -> GradeRecord | None:
        row = await hr(info).grade_by_enterprise.load(self.uscc)
        return from_row(GradeRecord, row) if row else None

    @scoped_resolver(
        ENTERPRISE_CREDIT, description="Complaints and inspection cases against this enterprise"
    )
    async def complaints(self, info: Info) -> list[ComplaintRecord] | None:
        return from_rows(ComplaintRecord, await hr(info).complaints_by_enterprise.load(self.uscc))
