"""What housing contributes to the graph: identity of record, sites, registrations,
attendance, e-contracts, certificates; and the worker / project / enterprise roots."""

from __future__ import annotations

import enum
from collections.abc import Awaitable
from datetime import date
from typing import Annotated, Any

import strawberry

from connectors.housing.loaders import (
    EnterpriseFilter,
    HousingLoaders,
    ProjectFilter,
    WorkerFilter,
)
from kernel import refs
from kernel.access import public_type, scoped, scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.identifiers import id_number_birth_date, id_number_is_male
from kernel.limits import REGIONS, bounded_list
from kernel.ownership import belongs_to, discloses, names, naming
from kernel.pagination import Connection, open_page
from kernel.records import from_row, from_rows, row_field
from kernel.regions import region as find_region
from kernel.scalars import USCC, Fen, IdNumber, RegionCodePrefix, YearMonth, in_months
from kernel.scopes import (
    ENTERPRISE_CREDIT,
    ENTERPRISE_READ,
    PROJECT_READ,
    WAGE_READ,
    WORKER_EMPLOYMENT,
    WORKER_IDENTITY,
)


@strawberry.enum(description="工程状态")
class ProjectStatus(enum.Enum):
    UNDER_CONSTRUCTION = "under_construction"
    SUSPENDED = "suspended"
    COMPLETED = "completed"


@strawberry.enum(description="企业类型")
class EnterpriseKind(enum.Enum):
    BUILDER = "builder"
    GENERAL_CONTRACTOR = "general_contractor"
    SPECIALTY_CONTRACTOR = "specialty_contractor"
    LABOUR_SUBCONTRACTOR = "labour_subcontractor"
    PROFESSIONAL = "professional"


@strawberry.enum
class Gender(enum.Enum):
    MALE = "male"
    FEMALE = "female"


@public_type
@strawberry.type(description="行政区划 administrative division (GB/T 2260).")
class Region:
    code: str
    name: str | None
    city: str | None
    province: str | None


def region_of(code: str) -> Region:
    found = find_region(code)
    if found is None:
        return Region(code=code, name=None, city=None, province=None)
    return Region(code=code, name=found.name, city=found.city, province=found.province)


@belongs_to(Entity.PROJECT, "project_code")
@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WORKER_EMPLOYMENT)
@strawberry.type(
    name="Registration",
    description="实名制登记: a worker on a project, for an employer, in a team.",
)
class RegistrationRecord:
    worker_id_number: strawberry.Private[str]
    project_code: strawberry.Private[str]
    employer_uscc: strawberry.Private[str]
    team: str = strawberry.field(description="班组")
    trade: str = strawberry.field(description="工种")
    entry_date: date = strawberry.field(description="进场日期")
    exit_date: date | None = strawberry.field(description="退场日期")

    @scoped_resolver(WORKER_EMPLOYMENT)
    def active(self) -> bool:
        return self.exit_date is None

    @scoped_resolver(WORKER_EMPLOYMENT)
    def worker(self) -> refs.WorkerRef | None:
        return refs.WorkerKey(id_number=self.worker_id_number)

    @scoped_resolver(WORKER_EMPLOYMENT)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)

    @scoped_resolver(
        WORKER_EMPLOYMENT, description="The registering employer (usually a labour subcontractor)."
    )
    def employer(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.employer_uscc)


@belongs_to(Entity.PROJECT, "project_code")
@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WORKER_EMPLOYMENT)
@strawberry.type(
    name="AttendanceMonth", description="实名制考勤: one worker, one project, one month."
)
class AttendanceRecord:
    worker_id_number: strawberry.Private[str]
    project_code: strawberry.Private[str]
    day_mask: strawberry.Private[int]
    month: YearMonth
    days_present: int

    @scoped_resolver(WORKER_EMPLOYMENT, description="The days the worker clocked in.")
    def days(self) -> list[date]:
        return [
            self.month.replace(day=day) for day in range(1, 32) if self.day_mask >> (day - 1) & 1
        ]

    @scoped_resolver(WORKER_EMPLOYMENT, description="Whose attendance it is")
    def worker(self) -> refs.WorkerRef | None:
        return refs.WorkerKey(id_number=self.worker_id_number)

    @scoped_resolver(WORKER_EMPLOYMENT)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)


@belongs_to(Entity.PROJECT, "project_code")
@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WORKER_EMPLOYMENT)
@strawberry.type(name="LabourContract", description="电子劳动合同")
class ContractRecord:
    worker_id_number: strawberry.Private[str]
    project_code: strawberry.Private[str]
    employer_uscc: strawberry.Private[str]
    contract_no: str
    signed_on: date
    start_date: date
    end_date: date | None
    daily_wage_fen: Fen | None = scoped(
        WORKER_EMPLOYMENT, WAGE_READ, description="日工资 in fen; null without wage:read"
    )
    pay_day: int = strawberry.field(description="Day of the month wages fall due")

    @scoped_resolver(WORKER_EMPLOYMENT)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)

    @scoped_resolver(WORKER_EMPLOYMENT)
    def employer(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.employer_uscc)


@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WORKER_EMPLOYMENT)
@strawberry.type(name="SkillCertificate", description="职业技能等级证书")
class CertificateRecord:
    worker_id_number: strawberry.Private[str]
    certificate_no: str
    trade: str
    level: str
    issued_on: date
    expires_on: date


def housing(info: Info) -> HousingLoaders:
    return info.context.loaders(HousingLoaders)


def _worker(part: HousingWorker, info: Info) -> Awaitable[Any]:
    return housing(info).worker.load(part.id_number)


def _project(part: HousingProject, info: Info) -> Awaitable[Any]:
    return housing(info).project.load(part.code)


def _enterprise(part: HousingEnterprise, info: Info) -> Awaitable[Any]:
    return housing(info).enterprise.load(part.uscc)


@strawberry.type
class HousingWorker:
    id_number: strawberry.Private[str]

    name = row_field(
        WORKER_IDENTITY,
        _worker,
        "name",
        str,
        description="姓名 as registered on the real-name platform",
    )

    @scoped_resolver(WORKER_IDENTITY, description="Derived from the ID number")
    def gender(self) -> Gender | None:
        return Gender.MALE if id_number_is_male(self.id_number) else Gender.FEMALE

    @scoped_resolver(WORKER_IDENTITY, description="Derived from the ID number")
    def birth_date(self) -> date | None:
        return id_number_birth_date(self.id_number)

    @scoped_resolver(WORKER_EMPLOYMENT, description="Real-name registrations, oldest first")
    async def registrations(
        self, info: Info, active_only: bool = False
    ) -> list[RegistrationRecord] | None:
        rows = await housing(info).registrations_by_worker.load(self.id_number)
        return [
            from_row(RegistrationRecord, r) for r in rows if not active_only or r.exit_date is None
        ]

    @scoped_resolver(
        WORKER_EMPLOYMENT,
        description="Monthly attendance, oldest first; `from`/`to` bound the months",
    )
    async def attendance(
        self,
        info: Info,
        since: Annotated[YearMonth | None, strawberry.argument(name="from")] = None,
        until: Annotated[YearMonth | None, strawberry.argument(name="to")] = None,
        project_code: Annotated[str | None, naming(Entity.PROJECT)] = None,
    ) -> list[AttendanceRecord] | None:
        rows = await housing(info).attendance_by_worker.load(self.id_number)
        return [
            from_row(AttendanceRecord, r)
            for r in rows
            if in_months(r.month, since, until) and project_code in (None, r.project_code)
        ]

    @scoped_resolver(WORKER_EMPLOYMENT, description="Electronic labour contracts, oldest first")
    async def contracts(self, info: Info) -> list[ContractRecord] | None:
        return from_rows(
            ContractRecord, await housing(info).contracts_by_worker.load(self.id_number)
        )

    @scoped_resolver(WORKER_EMPLOYMENT)
    async def skill_certificates(self, info: Info) -> list[CertificateRecord] | None:
        rows = await housing(info).certificates_by_worker.load(self.id_number)
        return from_rows(CertificateRecord, rows)


@strawberry.type
class HousingProject:
    code: strawberry.Private[str]

    name = row_field(PROJECT_READ, _project, "name", str)

    region = row_field(
        PROJECT_READ,
        _project,
        "region_code",
        Region,
        convert=region_of,
        description="Where the site is",
    )

    @scoped_resolver(PROJECT_READ, description="建设单位")
    async def builder(self, info: Info) -> refs.EnterpriseRef | None:
        row = await housing(info).project.load(self.code)
        return refs.EnterpriseKey(uscc=row.builder_uscc) if row else None

    @scoped_resolver(PROJECT_READ, description="施工总承包单位")
    async def general_contractor(self, info: Info) -> refs.EnterpriseRef | None:
        row = await housing(info).project.load(self.code)
        return refs.EnterpriseKey(uscc=row.contractor_uscc) if row else None

    contract_price_fen = row_field(
        PROJECT_READ, _project, "contract_price_fen", Fen, description="合同价款 in fen"
    )

    start_date = row_field(PROJECT_READ, _project, "start_date", date)

    planned_end_date = row_field(PROJECT_READ, _project, "planned_end_date", date)

    status = row_field(PROJECT_READ, _project, "status", ProjectStatus, convert=ProjectStatus)

    rights_notice_board = row_field(
        PROJECT_READ,
        _project,
        "rights_notice_board",
        bool,
        description="维权信息告示牌 posted on site",
    )

    payment_guarantee = row_field(
        PROJECT_READ,
        _project,
        "payment_guarantee",
        bool,
        description="工程款支付担保 provided by the builder",
    )

    @scoped_resolver(WORKER_EMPLOYMENT, description="Real-name registrations on this site")
    async def registrations(
        self, info: Info, active_only: bool = False
    ) -> list[RegistrationRecord] | None:
        rows = await housing(info).registrations_by_project.load(self.code)
        return [
            from_row(RegistrationRecord, r) for r in rows if not active_only or r.exit_date is None
        ]

    @scoped_resolver(
        WORKER_EMPLOYMENT, description="Attendance of every worker on this site in one month"
    )
    async def attendance(self, info: Info, month: YearMonth) -> list[AttendanceRecord] | None:
        rows = await housing(info).attendance_by_project_month.load((self.code, month))
        return from_rows(AttendanceRecord, rows)


@strawberry.type
class HousingEnterprise:
    uscc: strawberry.Private[str]

    name = row_field(ENTERPRISE_READ, _enterprise, "name", str)

    kind = row_field(ENTERPRISE_READ, _enterprise, "kind", EnterpriseKind, convert=EnterpriseKind)

    region = row_field(
        ENTERPRISE_READ,
        _enterprise,
        "region_code",
        Region,
        convert=region_of,
        description="Where the enterprise is registered",
    )

    qualification = row_field(
        ENTERPRISE_READ, _enterprise, "qualification", str, description="资质"
    )

    market_credit_score = row_field(
        ENTERPRISE_CREDIT,
        _enterprise,
        "credit_score",
        int,
        description="建筑市场信用分 (0-100) kept by the housing bureau",
    )

    legal_representative = row_field(
        ENTERPRISE_READ, _enterprise, "legal_representative", str, description="法定代表人"
    )

    @scoped_resolver(PROJECT_READ, description="Projects where it is the general contractor")
    async def contracted_projects(self, info: Info) -> list[refs.ProjectRef] | None:
        rows = await housing(info).projects_by_contractor.load(self.uscc)
        return [refs.ProjectKey(code=row.code) for row in rows]

    @scoped_resolver(PROJECT_READ, description="Projects where it is the builder (建设单位)")
    async def built_projects(self, info: Info) -> list[refs.ProjectRef] | None:
        rows = await housing(info).projects_by_builder.load(self.uscc)
        return [refs.ProjectKey(code=row.code) for row in rows]


@strawberry.input
class WorkerFilterInput:
    site_region_code_prefix: RegionCodePrefix | None = strawberry.field(
        default=None, description="Registered on a project in this region"
    )
    project_code: str | None = names(Entity.PROJECT, default=None)
    trade: str | None = None
    active_only: bool = strawberry.field(default=False, description="Only open registrations count")
    registered_from: date | None = None
    registered_to: date | None = None


@strawberry.input
class ProjectFilterInput:
    region_code_prefix: RegionCodePrefix | None = None
    status: list[ProjectStatus] | None = None
    started_from: date | None = None
    started_to: date | None = None
    general_contractor: USCC | None = None
    builder: USCC | None = None


@strawberry.input
class EnterpriseFilterInput:
    region_code_prefix: RegionCodePrefix | None = None
    kind: list[EnterpriseKind] | None = None
    name_contains: str | None = None


@strawberry.type
class HousingQuery:
    @scoped_resolver(
        WORKER_EMPLOYMENT,
        WORKER_IDENTITY,
        description="One worker by ID number; null when no agency has registered it (a "
        "look-up by ID number needs worker:identity: it would tell whether a guessed number "
        "exists)",
    )
    async def worker(self, info: Info, id_number: IdNumber) -> refs.WorkerRef | None:
        row = await housing(info).worker.load(id_number)
        return refs.WorkerKey(id_number=row.id_number) if row else None

    @scoped_resolver(
        WORKER_EMPLOYMENT, description="Workers on the real-name platform, by ID number"
    )
    async def workers(
        self,
        info: Info,
        filter: WorkerFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[refs.WorkerRef] | None:
        given = filter or WorkerFilterInput()
        caller = bounded_list(info, Entity.WORKER, [REGIONS.name])
        criteria = WorkerFilter(
            within_regions=caller.limit(REGIONS.name),
            site_region_prefix=given.site_region_code_prefix,
            project_code=given.project_code,
            trade=given.trade,
            active_only=given.active_only,
            registered_from=given.registered_from,
            registered_to=given.registered_to,
        )
        page = open_page(info, first, after)
        loaders = housing(info)
        rows = await loaders.workers_page(criteria, page.after, page.size + 1)
        return page.connection(
            [(r.id_number, refs.WorkerKey(id_number=r.id_number)) for r in rows],
            lambda: loaders.count_workers(criteria),
        )

    @scoped_resolver(PROJECT_READ, description="One project by code; null when unknown")
    async def project(self, info: Info, code: str) -> refs.ProjectRef | None:
        row = await housing(info).project.load(code)
        return refs.ProjectKey(code=row.code) if row else None

    @scoped_resolver(PROJECT_READ, description="Projects, by code")
    async def projects(
        self,
        info: Info,
        filter: ProjectFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[refs.ProjectRef] | None:
        given = filter or ProjectFilterInput()
        caller = bounded_list(info, Entity.PROJECT, [REGIONS.name])
        criteria = ProjectFilter(
            within_regions=caller.limit(REGIONS.name),
            region_prefix=given.region_code_prefix,
            statuses=tuple(s.value for s in given.status or ()),
            started_from=given.started_from,
            started_to=given.started_to,
            contractor_uscc=given.general_contractor,
            builder_uscc=given.builder,
        )
        page = open_page(info, first, after)
        loaders = housing(info)
        rows = await loaders.projects_page(criteria, page.after, page.size + 1)
        return page.connection(
            [(r.code, refs.ProjectKey(code=r.code)) for r in rows],
            lambda: loaders.count_projects(criteria),
        )

    @scoped_resolver(ENTERPRISE_READ, description="One enterprise by USCC; null when unknown")
    async def enterprise(self, info: Info, uscc: USCC) -> refs.EnterpriseRef | None:
        row = await housing(info).enterprise.load(uscc)
        return refs.EnterpriseKey(uscc=row.uscc) if row else None

    @scoped_resolver(ENTERPRISE_READ, description="Enterprises, by USCC")
    async def enterprises(
        self,
        info: Info,
        filter: EnterpriseFilterInput | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[refs.EnterpriseRef] | None:
        given = filter or EnterpriseFilterInput()
        caller = bounded_list(info, Entity.ENTERPRISE, [REGIONS.name])
        criteria = EnterpriseFilter(
            within_regions=caller.limit(REGIONS.name),
            region_prefix=given.region_code_prefix,
            kinds=tuple(k.value for k in given.kind or ()),
            name_contains=given.name_contains,
        )
        page = open_page(info, first, after)
        loaders = housing(info)
        rows = await loaders.enterprises_page(criteria, page.after, page.size + 1)
        return page.connection(
            [(r.uscc, refs.EnterpriseKey(uscc=r.uscc)) for r in rows],
            lambda: loaders.count_enterprises(criteria),
        )
