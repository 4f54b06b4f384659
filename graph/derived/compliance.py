"""A project's compliance with the nine wage-protection measures in one month, and its
three-colour warning, after Wuhu's 红黄蓝牌 practice.

The rule (documented in docs/warning-rule.md): each measure has a fixed severity; the warning is
the most severe failed measure. Measures the hub cannot see (payroll and funding when no
special account exists) are reported as not assessable rather than guessed, and so are
measures whose agency has sent no data for the month (`graph.derived.freshness`): those
agencies are named in `noDataFrom`. A project that had not started by the end of the
month has no compliance for it.
  BLUE   (minor lapse):   rights-notice board, payment guarantee
  YELLOW (serious):       wage special account, real-name registration, labour contracts,
                          wage deposit, allocations into the special account,
                          real-name attendance
  RED    (arrears):       wages paid monthly — a worker who attended was paid nothing or
                          less than due
  NONE                    all nine satisfied
"""

from __future__ import annotations

import asyncio
import enum
import json
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

import strawberry

from connectors.bank.graph import AccountStatus
from connectors.bank.loaders import BankLoaders
from connectors.housing.loaders import HousingLoaders, ProjectFilter
from connectors.hr.loaders import HrLoaders
from graph.derived.freshness import Freshness, Source, freshness
from graph.derived.wages import (
    PAYROLL,
    PaymentStatus,
    ProjectMonth,
    covers,
    load_project_month,
)
from graph.facts.store import FactsStore, Where
from kernel import refs
from kernel.access import scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.costs import PROJECT_ASSESSMENT, REGION_ASSESSMENT, costs
from kernel.limits import REGIONS, bounded_list
from kernel.ownership import belongs_to
from kernel.pagination import Connection, Page, open_page
from kernel.regions import region_name
from kernel.scalars import Fen, RegionCodePrefix, YearMonth, month_end
from kernel.scopes import STATS_READ

SCAN_CHUNK = 200
UNDER_CONSTRUCTION = "under_construction"
ACTIVE_ACCOUNT = AccountStatus.ACTIVE.value


@strawberry.enum(description="三色预警: NONE < BLUE < YELLOW < RED")
class WarningLevel(enum.IntEnum):
    NONE = 0
    BLUE = 1
    YELLOW = 2
    RED = 3


@strawberry.enum(description="Order of a project warning list")
class WarningOrder(enum.Enum):
    CODE = "code"
    SEVERITY = "severity"
    """Most severe first (RED, YELLOW, BLUE, NONE), by project code within a colour."""


@strawberry.enum(description="《保障农民工工资支付条例》九项保障措施")
class Measure(enum.Enum):
    RIGHTS_NOTICE_BOARD = "维权信息告示牌"
    WAGE_SPECIAL_ACCOUNT = "农民工工资专用账户"
    REAL_NAME_REGISTRATION = "实名制登记"
    LABOUR_CONTRACTS = "劳动合同签订"
    WAGE_DEPOSIT = "工资保证金缴纳"
    PAYMENT_GUARANTEE = "工程款支付担保"
    SPECIAL_ACCOUNT_FUNDING = "专户资金管理（人工费拨付）"
    REAL_NAME_ATTENDANCE = "实名制考勤"
    WAGES_PAID_MONTHLY = "工资按月足额发放"


SEVERITY: dict[Measure, WarningLevel] = {
    Measure.RIGHTS_NOTICE_BOARD: WarningLevel.BLUE,
    Measure.PAYMENT_GUARANTEE: WarningLevel.BLUE,
    Measure.WAGE_SPECIAL_ACCOUNT: WarningLevel.YELLOW,
    Measure.REAL_NAME_REGISTRATION: WarningLevel.YELLOW,
    Measure.LABOUR_CONTRACTS: WarningLevel.YELLOW,
    Measure.WAGE_DEPOSIT: WarningLevel.YELLOW,
    Measure.SPECIAL_ACCOUNT_FUNDING: WarningLevel.YELLOW,
    Measure.REAL_NAME_ATTENDANCE: WarningLevel.YELLOW,
    Measure.WAGES_PAID_MONTHLY: WarningLevel.RED,
}

_PROJECTS: Final[Source] = ("housing", "projects")
_REGISTRATIONS: Final[Source] = ("housing", "registrations")
_ATTENDANCE: Final[Source] = ("housing", "attendance")
_CONTRACTS: Final[Source] = ("housing", "contracts")
_ACCOUNTS: Final[Source] = ("bank", "accounts")
SOURCES: Final[dict[Measure, tuple[Source, ...]]] = {
    Measure.RIGHTS_NOTICE_BOARD: (_PROJECTS,),
    Measure.PAYMENT_GUARANTEE: (_PROJECTS,),
    Measure.WAGE_SPECIAL_ACCOUNT: (_ACCOUNTS,),
    Measure.REAL_NAME_REGISTRATION: (_REGISTRATIONS,),
    Measure.LABOUR_CONTRACTS: (_REGISTRATIONS, _CONTRACTS),
    Measure.WAGE_DEPOSIT: (("hr", "deposits"),),
    Measure.SPECIAL_ACCOUNT_FUNDING: (_ACCOUNTS, ("bank", "allocations"), _ATTENDANCE, _CONTRACTS),
    Measure.REAL_NAME_ATTENDANCE: (_REGISTRATIONS, _ATTENDANCE),
    Measure.WAGES_PAID_MONTHLY: (_ACCOUNTS, PAYROLL, _ATTENDANCE, _CONTRACTS),
}
"""The tables each measure is judged from: unless all of them cover the month, it is not
assessed."""


@scoped_type(STATS_READ)
@strawberry.type(description="One measure's result")
class MeasureResult:
    measure: Measure
    satisfied: bool | None = strawberry.field(
        description="null when the hub cannot assess it (e.g. no special account, so the "
        "bank sees no payroll)"
    )
    severity: WarningLevel = strawberry.field(description="The warning a failure raises")
    detail: str

    @scoped_resolver(STATS_READ, description="The measure's Chinese name")
    def label(self) -> str:
        return self.measure.value


@belongs_to(Entity.PROJECT, "project_code")
@scoped_type(STATS_READ)
@strawberry.type(description="A project's compliance in one month and its three-colour warning")
class Compliance:
    project_code: strawberry.Private[str]
    month: YearMonth
    level: WarningLevel
    measures: list[MeasureResult]
    wages_due_fen: Fen
    wages_paid_fen: Fen
    allocated_fen: Fen
    no_data_from: list[str] = strawberry.field(
        description="agencies that have sent no data for the month, so measures judged from "
        "their records are not assessed (not counted as lapses)"
    )

    @scoped_resolver(STATS_READ)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)


@dataclass(frozen=True)
class _Facts:
    project: Any
    account: Any | None
    allocations: list[Any]
    deposit: Any | None
    month: ProjectMonth
    fresh: Freshness


def _regions(info: Info) -> tuple[str, ...]:
    """A dashboard's list bounded in SQL by the caller's regions; no other limit can be."""
    return bounded_list(info, Entity.PROJECT, [REGIONS.name]).limit(REGIONS.name)


def _assess(facts: _Facts) -> Compliance:
    month = facts.month
    active = month.active_registrations
    active_workers = {r.worker_id_number for r in active}
    contracted = {c.worker_id_number for c in month.contracts if covers(c, month.month)}
    attended = {a.worker_id_number for a in month.attendance if a.days_present > 0}
    positions = month.positions()
    short = [p for p in positions if p.status in (PaymentStatus.UNPAID, PaymentStatus.UNDERPAID)]
    due = sum(p.due_fen or 0 for p in positions)
    paid = sum(p.paid_fen for p in positions)
    allocated = sum(a.amount_fen for a in facts.allocations if a.period == month.month)
    building = facts.project.status == UNDER_CONSTRUCTION
    missing_contracts = active_workers - contracted
    absent = active_workers - attended

    payroll_visible = facts.account is not None
    unseen = "cannot be assessed: no wage special account, so the bank sees no payroll"
    checks: list[tuple[Measure, bool | None, str]] = [
        (
            Measure.RIGHTS_NOTICE_BOARD,
            facts.project.rights_notice_board,
            "posted" if facts.project.rights_notice_board else "no rights-notice board on site",
        ),
        (
            Measure.WAGE_SPECIAL_ACCOUNT,
            facts.account is not None and facts.account.status == ACTIVE_ACCOUNT,
            f"account {facts.account.status}" if facts.account else "no wage special account",
        ),
        (
            Measure.REAL_NAME_REGISTRATION,
            bool(active) or not building,
            f"{len(active_workers)} workers registered" if active else "no worker registered",
        ),
        (
            Measure.LABOUR_CONTRACTS,
            not missing_contracts,
            f"{len(missing_contracts)} of {len(active_workers)} workers without a contract",
        ),
        (
            Measure.WAGE_DEPOSIT,
            facts.deposit is not None and facts.deposit.status in ("paid", "exempt"),
            f"deposit {facts.deposit.status}" if facts.deposit else "no wage deposit",
        ),
        (
            Measure.PAYMENT_GUARANTEE,
            facts.project.payment_guarantee,
            "provided" if facts.project.payment_guarantee else "no payment guarantee",
        ),
        (
            Measure.SPECIAL_ACCOUNT_FUNDING,
            allocated >= due if payroll_visible else None,
            f"allocated {allocated} fen for {due} fen due" if payroll_visible else unseen,
        ),
        (
            Measure.REAL_NAME_ATTENDANCE,
            not absent,
            f"{len(absent)} of {len(active_workers)} registered workers without attendance",
        ),
        (
            Measure.WAGES_PAID_MONTHLY,
            not short if payroll_visible else None,
            unseen
            if not payroll_visible
            else f"{len(short)} workers unpaid or underpaid"
            if short
            else "all paid",
        ),
    ]
    results = []
    silent: set[str] = set()
    for measure, ok, detail in checks:
        missing = facts.fresh.missing(SOURCES[measure], month.month)
        if missing:
            ok, detail = None, facts.fresh.describe(missing)
            silent.update(agency for agency, _ in missing)
        results.append(
            MeasureResult(measure=measure, satisfied=ok, severity=SEVERITY[measure], detail=detail)
        )
    level = max((r.severity for r in results if r.satisfied is False), default=WarningLevel.NONE)
    return Compliance(
        project_code=month.project_code,
        month=month.month,
        level=level,
        measures=results,
        wages_due_fen=due,
        wages_paid_fen=paid,
        allocated_fen=allocated,
        no_data_from=sorted(silent),
    )


async def assess(info: Info, project_code: str, month: date) -> Compliance | None:
    housing = info.context.loaders(HousingLoaders)
    bank = info.context.loaders(BankLoaders)
    hr = info.context.loaders(HrLoaders)
    project, account, allocations, deposit, project_month, fresh = await asyncio.gather(
        housing.project.load(project_code),
        bank.account_by_project.load(project_code),
        bank.allocations_by_project.load(project_code),
        hr.deposit_by_project.load(project_code),
        load_project_month(info, project_code, month),
        freshness(info),
    )
    if project is None or project.start_date > month_end(month):
        return None  # no such project, or not started yet: nothing to warn about
    return _assess(_Facts(project, account, allocations, deposit, project_month, fresh))


async def _assess_page(info: Info, codes: list[str], month: date) -> list[Compliance]:
    found = await asyncio.gather(*(assess(info, code, month) for code in codes))
    return [c for c in found if c is not None]


@strawberry.type
class ProjectCompliance:
    code: strawberry.Private[str]

    @scoped_resolver(
        STATS_READ,
        description="Nine measures and the three-colour warning for one month",
        metadata=costs(PROJECT_ASSESSMENT),
    )
    async def compliance(self, info: Info, month: YearMonth) -> Compliance | None:
        return await assess(info, self.code, month)


@scoped_type(STATS_READ)
@strawberry.type(description="Projects per warning level in one region")
class RegionWarnings:
    region_code: str
    none: int
    blue: int
    yellow: int
    red: int
    no_data: int = strawberry.field(
        description="of those, projects with measures not assessed for lack of an agency's "
        "data for the month"
    )

    @scoped_resolver(STATS_READ)
    def region_name(self) -> str | None:
        """A roll-up's province or city prefix (`41`, `4101`) names its region too."""
        return region_name(self.region_code.ljust(6, "0"))

    @scoped_resolver(STATS_READ)
    def total(self) -> int:
        return self.none + self.blue + self.yellow + self.red


async def warning_counts(
    info: Info, criteria: ProjectFilter, month: date, digits: int
) -> dict[str, Counter[WarningLevel | None]]:
    """Projects per level (`None`: of them with no data) per region code cut to `digits`
    (6: district, 4: city, 2: province), from the facts when they cover the month."""
    counts: dict[str, Counter[WarningLevel | None]] = {}
    store = await facts_for(info, month)
    if store is not None:
        where = Where(month, criteria.region_prefix, criteria.within_regions)
        for region, level, projects, no_data in await store.counts(where):
            counted = counts.setdefault(region[:digits], Counter())
            counted[WarningLevel(level)] += projects
            counted[None] += no_data
        return counts
    housing = info.context.loaders(HousingLoaders)
    async for compliance in _scan(info, criteria, month, None):
        project = await housing.project.load(compliance.project_code)
        if project is not None:
            counted = counts.setdefault(project.region_code[:digits], Counter())
            counted[compliance.level] += 1
            counted[None] += bool(compliance.no_data_from)
    return counts


async def _scan(
    info: Info, criteria: ProjectFilter, month: date, after: str | None, chunk: int = SCAN_CHUNK
) -> AsyncIterator[Compliance]:
    """Compliance of every matching project after `after`, in code order, chunk by chunk."""
    housing = info.context.loaders(HousingLoaders)
    cursor = after
    while True:
        rows = await housing.projects_page(criteria, cursor, chunk)
        if not rows:
            return
        for compliance in await _assess_page(info, [r.code for r in rows], month):
            yield compliance
        cursor = rows[-1].code


def _severity_key(compliance: Compliance) -> str:
    """Most severe first, then by project code: `0…` for RED up to `3…` for NONE."""
    return f"{WarningLevel.RED - compliance.level}{compliance.project_code}"


async def facts_for(info: Info, month: date) -> FactsStore | None:
    """The warning facts, when this hub keeps them and a refresh has covered `month`:
    lists and counts are then read from them instead of assessing every project."""
    if FactsStore not in info.context.loader_factories:
        return None
    store = info.context.loaders(FactsStore)
    return store if await store.covers(month) else None


def fact_detail(compliance: Compliance) -> str:
    """What a warning fact keeps besides its level: the rest of the answer, as JSON."""
    return json.dumps(
        {
            "measures": [[r.measure.name, r.satisfied, r.detail] for r in compliance.measures],
            "due": compliance.wages_due_fen,
            "paid": compliance.wages_paid_fen,
            "allocated": compliance.allocated_fen,
            "no_data_from": compliance.no_data_from,
        },
        ensure_ascii=False,
    )


def from_fact(code: str, month: date, level: int, detail: str) -> Compliance:
    """The answer `fact_detail` kept, as `assess` gave it when the facts were refreshed."""
    kept = json.loads(detail)
    measures = [
        MeasureResult(
            measure=Measure[name],
            satisfied=satisfied,
            severity=SEVERITY[Measure[name]],
            detail=text,
        )
        for name, satisfied, text in kept["measures"]
    ]
    return Compliance(
        project_code=code,
        month=month,
        level=WarningLevel(level),
        measures=measures,
        wages_due_fen=kept["due"],
        wages_paid_fen=kept["paid"],
        allocated_fen=kept["allocated"],
        no_data_from=kept["no_data_from"],
    )


async def _from_facts(
    store: FactsStore, where: Where, page: Page, by_severity: bool
) -> Connection[Compliance]:
    """One page read whole from the facts (one indexed statement, the count another): a
    page costs the same for a district as for a province, and the agencies' records are
    not read at all (the facts are refreshed whenever they change)."""
    rows = await store.page(where, page.after, page.size + 1, by_severity)
    found = [
        (
            f"{WarningLevel.RED - level}{code}" if by_severity else code,
            from_fact(code, where.month, level, detail),
        )
        for code, level, detail in rows
    ]

    async def count_all() -> int:
        return await store.count(where)

    return page.connection(found, count_all)


async def _by_severity(
    info: Info,
    criteria: ProjectFilter,
    month: date,
    wanted: set[WarningLevel],
    page: Page,
) -> Connection[Compliance]:
    """The project list most severe first. A colour is known only once a project is
    assessed, so every page assesses the whole filtered list (as totalCount does): quick
    for a district, slow for a province — narrow by region."""
    found = sorted(
        [
            (_severity_key(c), c)
            async for c in _scan(info, criteria, month, None)
            if c.level in wanted
        ],
        key=lambda keyed: keyed[0],
    )
    following = [(key, c) for key, c in found if page.after is None or key > page.after]

    async def count_all() -> int:
        return len(found)

    return page.connection(following[: page.size + 1], count_all)


@strawberry.type
class ComplianceQuery:
    @scoped_resolver(
        STATS_READ,
        description="Projects with their three-colour warning in one month, filtered by "
        "region and level (the dashboard's project list)",
        metadata=costs(REGION_ASSESSMENT),  # its count and severity order assess them all
    )
    async def project_warnings(
        self,
        info: Info,
        month: YearMonth,
        region_code_prefix: RegionCodePrefix | None = None,
        level: list[WarningLevel] | None = None,
        first: int | None = None,
        after: str | None = None,
        order_by: WarningOrder = WarningOrder.CODE,
    ) -> Connection[Compliance] | None:
        page = open_page(info, first, after)
        criteria = ProjectFilter(
            region_prefix=region_code_prefix,
            statuses=(UNDER_CONSTRUCTION,),
            within_regions=_regions(info),
        )
        wanted = set(level or WarningLevel)
        store = await facts_for(info, month)
        if store is not None:
            where = Where(
                month,
                region_code_prefix,
                criteria.within_regions,
                tuple(sorted(int(w) for w in wanted)) if level else (),
            )
            return await _from_facts(store, where, page, order_by is WarningOrder.SEVERITY)
        if order_by is WarningOrder.SEVERITY:
            return await _by_severity(info, criteria, month, wanted, page)
        found: list[tuple[str, Compliance]] = []
        # Assess about a page at a time: a district has hundreds of projects at scale.
        chunk = min(SCAN_CHUNK, page.size + 1)
        async for compliance in _scan(info, criteria, month, page.after, chunk):
            if compliance.level in wanted:
                found.append((compliance.project_code, compliance))
                if len(found) > page.size:
                    break

        async def count_all() -> int:
            return sum([1 async for c in _scan(info, criteria, month, None) if c.level in wanted])

        return page.connection(found, count_all)

    @scoped_resolver(
        STATS_READ,
        description="Per district: how many projects under construction carry each warning",
        metadata=costs(REGION_ASSESSMENT),
    )
    async def warning_summary(
        self, info: Info, month: YearMonth, region_code_prefix: RegionCodePrefix | None = None
    ) -> list[RegionWarnings] | None:
        criteria = ProjectFilter(
            region_prefix=region_code_prefix,
            statuses=(UNDER_CONSTRUCTION,),
            within_regions=_regions(info),
        )
        counts = await warning_counts(info, criteria, month, 6)
        return [
            RegionWarnings(
                region_code=code,
                none=c[WarningLevel.NONE],
                blue=c[WarningLevel.BLUE],
                yellow=c[WarningLevel.YELLOW],
                red=c[WarningLevel.RED],
                no_data=c[None],
            )
            for code, c in sorted(counts.items())
        ]
