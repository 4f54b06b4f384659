"""The synthetic world every connector seeds its tables from: one set of facts, five views.

Facts are frozen dataclasses that know nothing of the agencies' tables; each connector's
`seed.py` turns them into its own rows. `generate()` streams the world in batches: batch 0
holds the reference data (enterprises with their credit, projects with their account,
deposit and insurance, the blacklist) and the planted stories (`stories.py`); each later
batch holds the workers of a run of projects with everything that hangs off them
(employments, attendance, payroll, residence, certificates, cards, allocations, complaints,
dispute cases). A project's workers all fall in one batch, so its allocations follow its
actual payroll without holding other batches. Batch k draws from
`random.Random(f"{seed}:{k}")`; ID numbers come from a bijection of the worker's serial, so
batches never collide and memory stays bounded at any scale.

Money is integer fen; months are the 1st of the month. Most projects comply; a fraction
have lapses (no rights-notice board, no payment guarantee, no wage special account, no
deposit, workers without contracts, months without allocation, arrears) and about 15% of
workers hold no current temporary residence registration.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Final

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel

from connectors.synthetic.names import (
    TRADES,
    enterprise_name,
    person_name,
    project_name,
    street_address,
    team_name,
)
from connectors.synthetic.stories import (
    COMMITTEE,
    DEFAULT_THROUGH_MONTH,
    DISPUTE_CLAIM_FEN,
    DISPUTE_DAILY_WAGE_FEN,
    DISPUTE_DAYS,
    DISPUTE_PAID_FEN,
    DISPUTE_PAY_DAY,
    DISPUTE_WORKER_NAME,
    DISTRICT_CODE,
    STORY_ENTERPRISE_SERIALS,
    STORY_MONTHS,
    STORY_ORDER_CODES_FROM,
    Stories,
    add_months,
    earlier_case_filing_months,
    stories,
)
from schemas.identifiers import id_number_check_char, make_case_number, make_uscc
from schemas.regions import ORIGIN_COUNTIES, SITE_DISTRICTS, Region, court_code

__all__ = [
    "DEFAULT_THROUGH_MONTH",
    "SCALES",
    "Allocation",
    "BlacklistEntry",
    "Certificate",
    "Complaint",
    "Contract",
    "DisputeCase",
    "Employment",
    "Enterprise",
    "InjuryInsurance",
    "Judgment",
    "Mediation",
    "Party",
    "Payment",
    "PayrollCard",
    "Project",
    "Residence",
    "Scale",
    "WageAccount",
    "WageDeposit",
    "WorkMonth",
    "Worker",
    "WorldBatch",
    "generate",
    "seed_table",
]

CAUSE: Final = "追索劳动报酬纠纷"


@dataclass(frozen=True, slots=True)
class Scale:
    """How big a world is; the totals include the planted stories."""

    workers: int
    months: int
    projects: int
    enterprises: int
    cases: int


# Projects ≈ workers/20 (at least 12) for demo and workers/60 above; enterprises ≈ 2.5 per
# project; dispute cases ≈ 1% of workers (at least 8).
SCALES: Final[dict[str, Scale]] = {
    "demo": Scale(workers=200, months=6, projects=12, enterprises=30, cases=8),
    "small": Scale(workers=10_000, months=6, projects=167, enterprises=417, cases=100),
    "medium": Scale(workers=100_000, months=4, projects=1_667, enterprises=4_167, cases=1_000),
    "large": Scale(workers=1_000_000, months=3, projects=16_667, enterprises=41_667, cases=10_000),
}


# --- facts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Enterprise:
    """An enterprise as housing (kind, qualification, credit score) and HR (grade) know it."""

    uscc: str
    name: str
    # builder / general_contractor / specialty_contractor / labour_subcontractor / professional
    kind: str
    region_code: str
    qualification: str | None
    credit_score: int  # housing bureau, 0-100
    legal_representative: str
    credit_grade: str  # HR, A-D
    graded_on: date


@dataclass(frozen=True, slots=True)
class WageAccount:
    """The project's 农民工工资专用账户, opened by the general contractor."""

    account_no: str
    bank_name: str
    opened_on: date
    status: str  # active / closed


@dataclass(frozen=True, slots=True)
class WageDeposit:
    amount_fen: int
    status: str  # paid / refunded
    paid_on: date


@dataclass(frozen=True, slots=True)
class InjuryInsurance:
    policy_no: str
    insured_from: date
    insured_to: date


@dataclass(frozen=True, slots=True)
class Project:
    """A project; `code` is its construction-permit number (region + issue date + serial)."""

    code: str
    name: str
    region_code: str
    builder_uscc: str
    contractor_uscc: str
    contract_price_fen: int
    start_date: date
    planned_end_date: date
    status: str  # under_construction / suspended / completed
    stopped_on: date | None  # when work stopped (suspension or completion)
    rights_notice_board: bool
    payment_guarantee: bool
    pay_day: int
    account: WageAccount | None
    deposit: WageDeposit | None
    insurance: InjuryInsurance | None


@dataclass(frozen=True, slots=True)
class Allocation:
    """A labour-cost transfer from the builder into the project's special account."""

    project_code: str
    account_no: str
    payer_uscc: str
    period: date
    transferred_on: date
    amount_fen: int


@dataclass(frozen=True, slots=True)
class BlacklistEntry:
    decision_no: str
    enterprise_uscc: str
    responsible_person: str
    reason: str
    listed_on: date
    removed_on: date | None


@dataclass(frozen=True, slots=True)
class Contract:
    """An electronic labour contract; the wage terms live on the employment."""

    contract_no: str
    signed_on: date
    end_date: date | None


@dataclass(frozen=True, slots=True)
class Payment:
    """One month's payroll disbursement through the project's special account."""

    account_no: str
    amount_fen: int
    paid_on: date
    status: str  # paid / failed / returned


@dataclass(frozen=True, slots=True)
class WorkMonth:
    """A month on a project: bit d-1 of `day_mask` is set when the worker was there on day d."""

    month: date
    day_mask: int
    payment: Payment | None

    @property
    def days_present(self) -> int:
        return self.day_mask.bit_count()


@dataclass(frozen=True, slots=True)
class Employment:
    """A real-name registration with its wage terms, attendance and payroll."""

    project_code: str
    employer_uscc: str
    team: str
    trade: str
    entry_date: date
    exit_date: date | None
    daily_wage_fen: int
    pay_day: int
    contract: Contract | None
    months: tuple[WorkMonth, ...]

    def due_fen(self, work: WorkMonth) -> int:
        """The wages due for a month: days present times the daily wage."""
        return work.days_present * self.daily_wage_fen


@dataclass(frozen=True, slots=True)
class Residence:
    """A temporary residence registration; `status` is as of the through month's last day."""

    registration_no: str
    region_code: str
    address: str
    registered_on: date
    valid_until: date
    status: str  # valid / expired

    def valid_on(self, day: date) -> bool:
        return self.registered_on <= day <= self.valid_until


@dataclass(frozen=True, slots=True)
class Certificate:
    certificate_no: str
    trade: str
    level: str
    issued_on: date
    expires_on: date


@dataclass(frozen=True, slots=True)
class PayrollCard:
    card_no: str
    bank_name: str
    opened_on: date


@dataclass(frozen=True, slots=True)
class Worker:
    id_number: str
    name: str
    household_region_code: str
    household_address: str
    employments: tuple[Employment, ...]  # oldest first
    residences: tuple[Residence, ...]
    certificates: tuple[Certificate, ...]
    card: PayrollCard

    @property
    def registered_on(self) -> date:
        """When the worker first appeared on the real-name platform."""
        return min(employment.entry_date for employment in self.employments)


@dataclass(frozen=True, slots=True)
class Party:
    role: str  # plaintiff / defendant
    name: str
    id_number: str | None
    uscc: str | None


@dataclass(frozen=True, slots=True)
class Mediation:
    committee: str
    mediator: str
    held_on: date
    outcome: str  # agreed / failed / pending
    agreed_amount_fen: int | None


@dataclass(frozen=True, slots=True)
class Judgment:
    judged_on: date
    awarded_amount_fen: int
    enforced_amount_fen: int
    summary: str


@dataclass(frozen=True, slots=True)
class DisputeCase:
    """A wage dispute in court (kind litigation, 民初) or in pre-litigation mediation (民诉前调)."""

    case_number: str
    court_name: str
    region_code: str
    kind: str  # litigation / pre_litigation_mediation
    cause: str
    claim_amount_fen: int
    status: str  # filed / mediating / mediated / judged / closed
    filed_on: date
    closed_on: date | None
    project_code: str
    disputed_months: tuple[date, ...]
    parties: tuple[Party, ...]
    mediations: tuple[Mediation, ...]
    judgment: Judgment | None

    @property
    def court_code(self) -> str:
        return court_code(self.region_code)


@dataclass(frozen=True, slots=True)
class Complaint:
    """An arrears complaint (kind complaint) or a labour-inspection case (kind inspection)."""

    complaint_no: str
    kind: str
    enterprise_uscc: str
    project_code: str
    worker_id_number: str | None
    filed_on: date
    amount_fen: int
    status: str  # accepted / investigating / resolved / referred
    summary: str


@dataclass(slots=True)
class WorldBatch:
    """One streamed slice of the world; reference data only in batch 0."""

    index: int
    months: tuple[date, ...]  # the scale's history; story workers always have six months
    enterprises: list[Enterprise] = field(default_factory=list)
    projects: list[Project] = field(default_factory=list)
    blacklist: list[BlacklistEntry] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)
    allocations: list[Allocation] = field(default_factory=list)
    cases: list[DisputeCase] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)

    def work_months(self) -> Iterator[tuple[Worker, Employment, WorkMonth]]:
        """Every month any worker of this batch spent on a project."""
        for worker in self.workers:
            for employment in worker.employments:
                for work in employment.months:
                    yield worker, employment, work


def generate(
    scale: str,
    seed: int,
    through_month: date = DEFAULT_THROUGH_MONTH,
    batch_size: int = 5000,
) -> Iterator[WorldBatch]:
    """The world at `scale`, batch by batch, identical for identical arguments."""
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r}: expected one of {', '.join(SCALES)}")
    if through_month.day != 1:
        raise ValueError(f"through month {through_month}: expected the 1st of a month")
    world = _World(SCALES[scale], seed, through_month, batch_size)
    yield world.first_batch
    serial = 0
    for index, run in enumerate(world.runs, start=1):
        batch = world.worker_batch(index, run, serial)
        serial += len(batch.workers)
        yield batch


def seed_table(model: type[SQLModel]) -> Table:
    """The table of a SQLModel class, typed (mypy cannot see the `__table__` attribute)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


# --- calendar and identities ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Month:
    index: int
    first: date
    last: date

    def pay_date(self, pay_day: int) -> date:
        """Wages for this month fall due on the pay day of the next month."""
        return add_months(self.first, 1).replace(day=pay_day)

    def span(self, entry: date, exit_date: date | None) -> int:
        """The day mask of this month's days between entry and exit (0: none)."""
        if entry > self.last or (exit_date is not None and exit_date < self.first):
            return 0
        low = entry.day if entry > self.first else 1
        high = exit_date.day if exit_date is not None and exit_date < self.last else self.last.day
        return (1 << high) - (1 << (low - 1))


def _calendar(through_month: date, months: int) -> tuple[_Month, ...]:
    firsts = [add_months(through_month, k - months + 1) for k in range(months)]
    return tuple(_Month(k, first, _last_day(first)) for k, first in enumerate(firsts))


def _last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _attendance_pools(rng: random.Random) -> dict[int, tuple[int, ...]]:
    """Day masks of 15-26 days for each month length: drawing one is cheaper than sampling."""
    return {
        length: tuple(
            sum(1 << day for day in rng.sample(range(length), rng.randint(15, 26)))
            for _ in range(256)
        )
        for length in range(28, 32)
    }


def _days_mask(rng: random.Random, month: _Month, days: int) -> int:
    """A mask of exactly `days` days of the month (for the stories' exact counts)."""
    return sum(1 << day for day in rng.sample(range(month.last.day), days))


_BORN_FROM: Final = date(1965, 1, 1)
_BIRTH_DAYS: Final = (date(2003, 12, 31) - _BORN_FROM).days + 1
_MALE_ORDER_SLOTS: Final = 450  # of 500: odd codes 1-899 for men, even 0-98 for women
_ORDER_SLOTS: Final = 500
# A prime above the identity space, hence coprime with it: serial -> slot is a bijection.
_SCRAMBLE: Final = 2_147_483_647


class _IdentitySpace:
    """Distinct ID numbers from worker serials: origin county x birth 1965-2003 x order code.

    Order codes stay below the stories' (900-999); nine in ten workers are men.
    """

    def __init__(self, rng: random.Random) -> None:
        self._births = [f"{_BORN_FROM + timedelta(days=d):%Y%m%d}" for d in range(_BIRTH_DAYS)]
        self._size = len(ORIGIN_COUNTIES) * _BIRTH_DAYS * _ORDER_SLOTS
        assert self._size < _SCRAMBLE
        self._offset = rng.randrange(self._size)

    def id_number(self, serial: int) -> tuple[str, bool]:
        """The serial's ID number and whether it is a man's."""
        slot = (serial * _SCRAMBLE + self._offset) % self._size
        slot, county = divmod(slot, len(ORIGIN_COUNTIES))
        slot, born = divmod(slot, _BIRTH_DAYS)
        order = 2 * slot + 1 if slot < _MALE_ORDER_SLOTS else 2 * (slot - _MALE_ORDER_SLOTS)
        assert order < STORY_ORDER_CODES_FROM
        first17 = f"{ORIGIN_COUNTIES[county].code}{self._births[born]}{order:03d}"
        return first17 + id_number_check_char(first17), order % 2 == 1


# --- places, banks and numbers ----------------------------------------------------------

_SITES: Final = {r.code: r for r in SITE_DISTRICTS}
_ORIGINS: Final = {r.code: r for r in ORIGIN_COUNTIES}
_CITY_ABBREVIATIONS: Final = {
    "郑州市": "郑", "芜湖市": "芜", "南京市": "宁", "无锡市": "锡", "杭州市": "杭", "宁波市": "甬",
    "重庆市": "渝", "贵阳市": "筑", "长沙市": "长", "武汉市": "武", "佛山市": "佛",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Bank:
    name: str
    card_bin: str
    account_prefix: str


_BANKS: Final = (
    _Bank("中国工商银行", "622202", "17"),
    _Bank("中国农业银行", "622848", "16"),
    _Bank("中国银行", "621661", "25"),
    _Bank("中国建设银行", "621700", "41"),
    _Bank("中国邮政储蓄银行", "621799", "94"),
)
_STORY_BANK: Final = _BANKS[3]


def _local_name(site: Region) -> str:
    """新密市 for a county-level city, 郑州市中原区 for a city district."""
    return site.name if site.name.endswith("市") else site.city + site.name


def _court_name(region_code: str) -> str:
    return f"{_local_name(_SITES[region_code])}人民法院"


def _committee(region_code: str) -> str:
    return f"{_SITES[region_code].name}建筑业劳资纠纷人民调解委员会"


_LUHN_DOUBLED: Final = str.maketrans("0123456789", "0246813579")  # 2d, digits summed


def _card_number(bank: _Bank, serial: int) -> str:
    """A 19-digit card number with its Luhn check digit (string arithmetic: a million calls)."""
    body = f"{bank.card_bin}{serial:012d}"
    doubled = body[-1::-2].translate(_LUHN_DOUBLED)  # every other digit from the right
    total = sum(doubled.encode()) + sum(body[-2::-2].encode()) - ord("0") * len(body)
    return body + str(-total % 10)


def _wage_account(
    bank: _Bank, site: Region, code: str, opened_on: date, status: str
) -> WageAccount:
    return WageAccount(
        account_no=bank.account_prefix + code,
        bank_name=f"{bank.name}{_local_name(site)}支行",
        opened_on=opened_on,
        status=status,
    )


def _deposit(contract_price_fen: int, paid_on: date, status: str) -> WageDeposit:
    """2% of the contract price, capped at 3 million yuan, in whole hundreds of yuan."""
    amount = min(contract_price_fen // 50, 300_000_000) // 10_000 * 10_000
    return WageDeposit(amount_fen=amount, status=status, paid_on=paid_on)


def _insurance(code: str, start: date, end: date) -> InjuryInsurance:
    return InjuryInsurance(policy_no=f"GS{code}", insured_from=start, insured_to=end)


def _round_up(fen: int, step: int = 10_000) -> int:
    return -(-fen // step) * step


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


def _graded_on(through_month: date) -> date:
    """HR grades employers every year on 31 March: the latest grading by the through month."""
    year = through_month.year if through_month.month > 3 else through_month.year - 1
    return date(year, 3, 31)


_RENEWED: Final = 365  # days a registration renewed every year is valid for
_SHORT_STAY: Final = 180  # days of a registration that has since lapsed


def _residence(
    serial: int, k: int, site: Region, address: str, registered: date, term: int, end: date
) -> Residence:
    """The worker's k-th registration, valid `term` days; its status as of `end`."""
    valid_until = registered + timedelta(days=term)
    return Residence(
        registration_no=f"JZ{site.code}{registered:%Y%m%d}{serial:08d}{k}",
        region_code=site.code,
        address=address,
        registered_on=registered,
        valid_until=valid_until,
        status="valid" if valid_until >= end else "expired",
    )


def _renewed_since(rng: random.Random, entry: date, end: date) -> date:
    """When a registration valid on `end` was last renewed: yearly since soon after entry."""
    registered = min(entry + timedelta(days=rng.randint(0, 20)), end)
    return registered + timedelta(days=365 * ((end - registered).days // 365))


# --- reference data ---------------------------------------------------------------------

# Kinds in proportion (builders 25%, general contractors 20%, specialty 15%, labour 30%,
# professional 10%), with every kind among the first five.
_KIND_CYCLE: Final = (
    *("builder", "general_contractor", "labour_subcontractor", "specialty_contractor"),
    *("professional", "builder", "labour_subcontractor", "general_contractor"),
    *("labour_subcontractor", "builder", "specialty_contractor", "labour_subcontractor"),
    *("general_contractor", "builder", "labour_subcontractor", "professional"),
    *("specialty_contractor", "general_contractor", "builder", "labour_subcontractor"),
)
_GRADES: Final = ("A", "B", "C", "D")
_GRADE_WEIGHTS: Final = (45, 32, 16, 7)
_SCORES: Final = {"A": (85, 98), "B": (72, 86), "C": (60, 74), "D": (38, 59)}
_QUALIFICATIONS: Final = {
    "builder": ("房地产开发企业一级资质", "房地产开发企业二级资质"),
    "general_contractor": (
        "建筑工程施工总承包特级",
        "建筑工程施工总承包一级",
        "建筑工程施工总承包二级",
        "市政公用工程施工总承包二级",
    ),
    "labour_subcontractor": ("施工劳务资质",),
    "professional": ("专业作业资质",),
}
# A specialty contractor's qualification follows the trade its name says.
_SPECIALTIES: Final = {
    "钢结构": "钢结构工程专业承包",
    "幕墙": "建筑幕墙工程专业承包",
    "防水": "防水防腐保温工程专业承包",
    "机电": "建筑机电安装工程专业承包",
    "消防": "消防设施工程专业承包",
}
_STATUSES: Final = ("under_construction", "suspended", "completed")
_STATUS_WEIGHTS: Final = (80, 6, 14)
_BLACKLIST_REASONS: Final = (
    "拖欠农民工工资，经责令限期支付逾期未支付",
    "拖欠农民工工资数额较大，造成群体性事件",
    "拒不支付农民工工资，被依法追究刑事责任",
)
_TRADE_WAGES_YUAN: Final = {
    "钢筋工": 380, "木工": 400, "混凝土工": 330, "砌筑工": 350, "架子工": 370,
    "电工": 400, "焊工": 420, "抹灰工": 340, "油漆工": 320, "防水工": 330,
}  # fmt: skip
_LEVELS: Final = ("初级工", "中级工", "高级工")
_LEVEL_WEIGHTS: Final = (50, 35, 15)
_CERTIFICATE_TERM: Final = timedelta(days=5 * 365 + 1)
_NAME_POOL: Final = 4096
_COMPLAINT_STATUSES: Final = ("accepted", "investigating", "resolved", "referred")
# Random cases' sequence numbers start here, above the stories' (356, 1024, 1187).
_RANDOM_CASES_FROM: Final = 2001


def _qualification(rng: random.Random, kind: str, name: str) -> str:
    if kind == "specialty_contractor":
        work = next(
            (q for key, q in _SPECIALTIES.items() if key in name), "建筑装修装饰工程专业承包"
        )
        return work + rng.choice(("一级", "二级"))
    return rng.choice(_QUALIFICATIONS[kind])


def _apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Whole shares of `total` in proportion to `weights` (largest remainders get the rest)."""
    if not weights:
        return []
    exact = [w * total / sum(weights) for w in weights]
    counts = [int(share) for share in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: counts[i] - exact[i])
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


@dataclass(slots=True)
class _Site:
    """How one project runs in its batch: teams, habits, lapses, and its payroll totals."""

    project: Project
    region: Region
    bank: _Bank  # where its workers hold their payroll cards
    teams: list[tuple[str, str, str, int]]  # team, trade, employer, daily wage (fen)
    contract_rate: float
    arrears: dict[int, float]  # month index -> share of workers unpaid or underpaid
    lumpy: bool  # allocates two months at once, every other month
    pay_dates: list[date]
    due: list[int]
    paid: list[int]
    owed: defaultdict[int, list[tuple[int, int]]]  # month index -> (worker serial, fen)


@dataclass(slots=True)
class _Grievance:
    """A worker left owed wages before the through month: a candidate plaintiff."""

    worker: Worker
    project: Project
    months: list[date]
    owed_fen: int


class _World:
    """The reference data of one world, and the factory of its worker batches."""

    def __init__(self, scale: Scale, seed: int, through_month: date, batch_size: int) -> None:
        self.seed = seed
        self.through_month = through_month
        self.end = _last_day(through_month)
        self.calendar = _calendar(through_month, scale.months)
        self.window_start = self.calendar[0].first
        shared = random.Random(f"{seed}:shared")
        self.pools = _attendance_pools(shared)
        self.identities = _IdentitySpace(shared)
        # Drawing from pools is ten times cheaper than composing a name or an address; a
        # pool of addresses per region means workers share dormitories and home villages.
        self.men = tuple(person_name(shared, True) for _ in range(_NAME_POOL))
        self.women = tuple(person_name(shared, False) for _ in range(_NAME_POOL // 4))
        pool = min(max(scale.workers // 400, 64), 2048)
        self._addresses = {
            r.code: tuple(street_address(shared, r) for _ in range(pool))
            for r in (*SITE_DISTRICTS, *ORIGIN_COUNTIES)
        }
        graded_on = _graded_on(through_month)

        keys = stories(seed, through_month)
        months = tuple(month.first for month in self.calendar)
        story_rng = random.Random(f"{seed}:0:stories")
        self.first_batch = planted = _Planting(keys, story_rng, graded_on, months).plant()
        rng = random.Random(f"{seed}:0")
        enterprises = self._enterprises(
            rng, scale.enterprises - len(planted.enterprises), graded_on
        )
        by_kind: defaultdict[str, list[Enterprise]] = defaultdict(list)
        for enterprise in enterprises:
            by_kind[enterprise.kind].append(enterprise)
        taken = {project.code for project in planted.projects}
        projects = self._projects(rng, scale.projects - len(planted.projects), by_kind, taken)
        blacklist = self._blacklist(rng, enterprises)
        self.enterprise_names = {e.uscc: e.name for e in (*planted.enterprises, *enterprises)}
        self.labour = [e.uscc for e in by_kind["labour_subcontractor"]]
        self.completed = [p for p in projects if p.status == "completed"]
        self.workers_total = scale.workers - len(planted.workers)
        self.cases_total = scale.cases - len(planted.cases)
        self.runs = self._runs(rng, projects, self.workers_total, batch_size)
        planted.enterprises.extend(enterprises)
        planted.projects.extend(projects)
        planted.blacklist.extend(blacklist)

    # -- reference data

    def _enterprises(self, rng: random.Random, count: int, graded_on: date) -> list[Enterprise]:
        serial_base = STORY_ENTERPRISE_SERIALS + rng.randrange(100_000_000)
        enterprises = []
        for index in range(count):
            kind = _KIND_CYCLE[index % len(_KIND_CYCLE)]
            site = rng.choice(SITE_DISTRICTS)
            grade = rng.choices(_GRADES, _GRADE_WEIGHTS)[0]
            name = enterprise_name(rng, site.city, kind)
            enterprises.append(
                Enterprise(
                    uscc=make_uscc(site.code, serial_base + index),
                    name=name,
                    kind=kind,
                    region_code=site.code,
                    qualification=_qualification(rng, kind, name),
                    credit_score=rng.randint(*_SCORES[grade]),
                    legal_representative=person_name(rng, rng.random() < 0.85),
                    credit_grade=grade,
                    graded_on=graded_on,
                )
            )
        return enterprises

    def _projects(
        self,
        rng: random.Random,
        count: int,
        by_kind: dict[str, list[Enterprise]],
        taken: set[str],
    ) -> list[Project]:
        projects = []
        for index in range(count):
            site = rng.choice(SITE_DISTRICTS)
            status = (
                "under_construction" if index == 0 else rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
            )
            closed = status == "completed"
            issued = self.window_start - timedelta(
                days=rng.randint(800, 1800) if closed else rng.randint(30, 900)
            )
            code = f"{site.code}{issued:%Y%m%d}{rng.randint(1, 30):02d}{rng.randint(1, 3):02d}"
            while code in taken:
                code = f"{code[:14]}{rng.randint(31, 99):02d}{code[16:]}"
            taken.add(code)
            start = issued + timedelta(days=rng.randint(0, 30))
            planned_end = start + timedelta(days=rng.randint(540, 1100))
            stopped_on = None
            if closed:
                stopped_on = min(
                    planned_end + timedelta(days=rng.randint(-60, 90)),
                    self.window_start - timedelta(days=rng.randint(1, 60)),
                )
            elif status == "suspended":
                latest = max(10, (self.through_month - self.window_start).days - 1)
                stopped_on = self.window_start + timedelta(days=rng.randint(10, latest))
            price = rng.randint(500, 60_000) * 1_000_000
            account = None
            if rng.random() > 0.07:
                opened = start + timedelta(days=rng.randint(0, 20))
                bank = rng.choice(_BANKS)
                account = _wage_account(bank, site, code, opened, "closed" if closed else "active")
            deposit = None
            if rng.random() > 0.08:
                paid_on = issued + timedelta(days=rng.randint(0, 10))
                deposit = _deposit(price, paid_on, "refunded" if closed else "paid")
            projects.append(
                Project(
                    code=code,
                    name=project_name(rng, site.name),
                    region_code=site.code,
                    builder_uscc=rng.choice(by_kind["builder"]).uscc,
                    contractor_uscc=rng.choice(by_kind["general_contractor"]).uscc,
                    contract_price_fen=price,
                    start_date=start,
                    planned_end_date=planned_end,
                    status=status,
                    stopped_on=stopped_on,
                    rights_notice_board=rng.random() > 0.08,
                    payment_guarantee=rng.random() > 0.10,
                    pay_day=rng.choice((10, 15, 15, 20, 25)),
                    account=account,
                    deposit=deposit,
                    insurance=_insurance(code, start, planned_end) if rng.random() > 0.05 else None,
                )
            )
        return projects

    def _blacklist(self, rng: random.Random, enterprises: list[Enterprise]) -> list[BlacklistEntry]:
        """Most D-grade contractors are listed now; some C-grade ones were, and got removed."""
        numbers: defaultdict[tuple[str, int], int] = defaultdict(lambda: 100)
        entries = []
        for enterprise in enterprises:
            if enterprise.kind == "builder":
                continue
            if enterprise.credit_grade == "D" and rng.random() < 0.6:
                listed = self.end - timedelta(days=rng.randint(30, 900))
                removed = None
            elif enterprise.credit_grade == "C" and rng.random() < 0.15:
                listed = self.end - timedelta(days=rng.randint(400, 1100))
                removed = listed + timedelta(days=rng.randint(365, 399))
            else:
                continue
            city = _CITY_ABBREVIATIONS[_SITES[enterprise.region_code].city]
            numbers[city, listed.year] += 1
            entries.append(
                BlacklistEntry(
                    decision_no=f"{city}人社黑〔{listed.year}〕{numbers[city, listed.year]}号",
                    enterprise_uscc=enterprise.uscc,
                    responsible_person=enterprise.legal_representative,
                    reason=rng.choice(_BLACKLIST_REASONS),
                    listed_on=listed,
                    removed_on=removed,
                )
            )
        return entries

    def _runs(
        self, rng: random.Random, projects: list[Project], workers: int, batch_size: int
    ) -> list[list[tuple[Project, int]]]:
        """Headcounts of the active projects, cut into runs of about `batch_size` workers."""
        active = [p for p in projects if p.status != "completed"]
        headcounts = _apportion(workers, [rng.lognormvariate(0, 0.7) for _ in active])
        runs: list[list[tuple[Project, int]]] = []
        size = batch_size
        for project, headcount in zip(active, headcounts, strict=True):
            if not headcount:
                continue
            if size >= batch_size:
                runs.append([])
                size = 0
            runs[-1].append((project, headcount))
            size += headcount
        return runs

    # -- worker batches

    def worker_batch(
        self, index: int, run: list[tuple[Project, int]], first_serial: int
    ) -> WorldBatch:
        rng = random.Random(f"{self.seed}:{index}")
        batch = WorldBatch(index=index, months=self.first_batch.months)
        grievances: list[_Grievance] = []
        serial = first_serial
        for project, headcount in run:
            site = self._site(rng, project)
            for _ in range(headcount):
                batch.workers.append(self._worker(rng, serial, site, grievances))
                serial += 1
            batch.allocations.extend(self._allocations(rng, site))
            batch.complaints.extend(self._complaints(rng, site))
        projects = {project.code: project for project, _ in run}
        first_case = first_serial * self.cases_total // self.workers_total
        last_case = serial * self.cases_total // self.workers_total
        for sequence in range(first_case, last_case):
            case = self._case(rng, batch.workers, projects, grievances, sequence)
            if case is not None:
                batch.cases.append(case)
        return batch

    def _site(self, rng: random.Random, project: Project) -> _Site:
        employers = rng.sample(self.labour, min(len(self.labour), rng.randint(1, 3)))
        teams = []
        for _ in range(rng.randint(2, 6)):
            trade = rng.choice(TRADES)
            wage = _TRADE_WAGES_YUAN.get(trade, 350) + rng.choice((-30, -20, -10, 0, 10, 20, 30))
            team = team_name(trade, rng.choice(self.men)[0])
            teams.append((team, trade, rng.choice(employers), wage * 100))
        arrears = {}
        if project.account is not None and rng.random() < 0.12:
            lapsed = rng.sample(
                range(len(self.calendar)), min(len(self.calendar), rng.randint(1, 2))
            )
            arrears = {month: rng.uniform(0.2, 0.6) for month in lapsed}
        months = len(self.calendar)
        return _Site(
            project=project,
            region=_SITES[project.region_code],
            bank=rng.choice(_BANKS),
            teams=teams,
            contract_rate=1.0 if rng.random() < 0.85 else rng.uniform(0.5, 0.95),
            arrears=arrears,
            lumpy=rng.random() < 0.08,
            pay_dates=[month.pay_date(project.pay_day) for month in self.calendar],
            due=[0] * months,
            paid=[0] * months,
            owed=defaultdict(list),
        )

    def _worker(
        self, rng: random.Random, serial: int, site: _Site, grievances: list[_Grievance]
    ) -> Worker:
        """A random worker on the site; the hot loop of the generator, so kept plain."""
        project = site.project
        id_number, male = self.identities.id_number(serial)
        home = _ORIGINS[id_number[:6]]
        team, trade, employer, team_wage = rng.choice(site.teams)
        wage = min(max(team_wage + rng.choice((-2000, -1000, 0, 0, 1000, 2000)), 25_000), 45_000)
        entry, exit_date = self._tenure(rng, project)
        account_no = project.account.account_no if project.account is not None else None
        work = []
        owed_months: list[date] = []
        owed_fen = 0
        for month in self.calendar:
            span = month.span(entry, exit_date)
            mask = rng.choice(self.pools[month.last.day]) & span if span else 0
            if not mask:
                continue
            payment = None
            if account_no is not None:
                due = mask.bit_count() * wage
                amount, status = due, "paid"
                share = site.arrears.get(month.index)
                if share is not None and rng.random() < share:
                    amount = due * rng.randint(3, 8) // 10 if rng.random() < 0.4 else 0
                    site.owed[month.index].append((serial, due - amount))
                    if month.first < self.through_month:
                        owed_months.append(month.first)
                        owed_fen += due - amount
                else:
                    draw = rng.random()
                    if draw < 0.006:
                        status = "failed" if draw < 0.004 else "returned"
                site.due[month.index] += due
                if amount:
                    if status == "paid":
                        site.paid[month.index] += amount
                    payment = Payment(account_no, amount, site.pay_dates[month.index], status)
            work.append(WorkMonth(month.first, mask, payment))
        contract = None
        if rng.random() < site.contract_rate:
            signed = entry - timedelta(days=rng.randint(0, 3))
            contract = Contract(f"HT{entry:%Y%m%d}{serial:08d}1", signed, exit_date)
        current = Employment(
            project_code=project.code,
            employer_uscc=employer,
            team=team,
            trade=trade,
            entry_date=entry,
            exit_date=exit_date,
            daily_wage_fen=wage,
            pay_day=project.pay_day,
            contract=contract,
            months=tuple(work),
        )
        employments: tuple[Employment, ...] = (current,)
        residences = []
        earlier = self._earlier_employment(rng, serial, trade, wage, entry)
        if earlier is not None:
            employments = (earlier, current)
            registered = earlier.entry_date + timedelta(days=3)
            old_site = _SITES[earlier.project_code[:6]]  # a permit number starts with its region
            address = self._address(rng, old_site)
            residences.append(
                _residence(serial, 0, old_site, address, registered, _SHORT_STAY, self.end)
            )
        # Xinmi pushes site registrations to the police: everyone there is registered.
        if site.region.code == DISTRICT_CODE or rng.random() >= 0.15:
            registered = _renewed_since(rng, entry, self.end)
            address = self._address(rng, site.region)
            residences.append(
                _residence(
                    serial, len(residences), site.region, address, registered, _RENEWED, self.end
                )
            )
        elif rng.random() < 0.5:
            registered = self.end - timedelta(days=rng.randint(200, 500))
            address = self._address(rng, site.region)
            residences.append(
                _residence(
                    serial, len(residences), site.region, address, registered, _SHORT_STAY, self.end
                )
            )
        certificates: tuple[Certificate, ...] = ()
        if rng.random() < 0.35:
            issued = self.end - timedelta(days=rng.randint(60, 2500))
            level = rng.choices(_LEVELS, _LEVEL_WEIGHTS)[0]
            number = f"S{issued:%Y}{serial:08d}"
            certificates = (Certificate(number, trade, level, issued, issued + _CERTIFICATE_TERM),)
        opened = employments[0].entry_date - timedelta(days=rng.randint(0, 10))
        worker = Worker(
            id_number=id_number,
            name=rng.choice(self.men if male else self.women),
            household_region_code=home.code,
            household_address=self._address(rng, home),
            employments=employments,
            residences=tuple(residences),
            certificates=certificates,
            card=PayrollCard(_card_number(site.bank, serial), site.bank.name, opened),
        )
        if owed_fen:
            grievances.append(_Grievance(worker, project, owed_months, owed_fen))
        return worker

    def _address(self, rng: random.Random, place: Region) -> str:
        return rng.choice(self._addresses[place.code])

    def _tenure(self, rng: random.Random, project: Project) -> tuple[date, date | None]:
        """Entry and exit: most entered before the window, a few leave during it."""
        if rng.random() < 0.7:
            earliest = max(
                project.start_date + timedelta(days=15), self.window_start - timedelta(days=540)
            )
            entry = earliest + timedelta(
                days=rng.randrange(max(1, (self.window_start - earliest).days))
            )
        else:
            span = (self.through_month - self.window_start).days + 20
            entry = self.window_start + timedelta(days=rng.randrange(span))
        if project.stopped_on is not None:
            before_stop = project.stopped_on - timedelta(days=rng.randint(5, 60))
            return max(min(entry, before_stop), project.start_date), project.stopped_on
        if rng.random() < 0.06:
            left_from = max(entry, self.window_start)
            stay = rng.randrange(max(1, (self.end - left_from).days))
            return entry, left_from + timedelta(days=stay)
        return entry, None

    def _earlier_employment(
        self, rng: random.Random, serial: int, trade: str, wage: int, before: date
    ) -> Employment | None:
        """For one worker in five, a registration on a completed project, ended before `before`."""
        if not self.completed or rng.random() >= 0.2:
            return None
        project = rng.choice(self.completed)
        assert project.stopped_on is not None
        entry = project.start_date + timedelta(days=rng.randint(30, 200))
        exit_date = min(entry + timedelta(days=rng.randint(60, 400)), project.stopped_on)
        if exit_date >= before:
            return None
        contract = None
        if rng.random() < 0.7:
            contract = Contract(f"HT{entry:%Y%m%d}{serial:08d}0", entry, exit_date)
        return Employment(
            project_code=project.code,
            employer_uscc=rng.choice(self.labour),
            team=team_name(trade, rng.choice(self.men)[0]),
            trade=trade,
            entry_date=entry,
            exit_date=exit_date,
            daily_wage_fen=max(wage - 2000, 25_000),  # a year or two ago
            pay_day=project.pay_day,
            contract=contract,
            months=(),
        )

    def _allocations(self, rng: random.Random, site: _Site) -> Iterator[Allocation]:
        """Labour costs the builder transferred: short in arrears months, else with a margin."""
        project, account = site.project, site.project.account
        if account is None:
            return
        for month in self.calendar:
            due = site.due[month.index]
            if month.index in site.arrears:
                amount = site.paid[month.index]
            elif site.lumpy:
                following = site.due[month.index + 1] if month.index + 1 < len(site.due) else 0
                amount = 0 if month.index % 2 else _round_up((due + following) * 21 // 20)
            else:
                amount = _round_up(due * rng.randint(100, 108) // 100)
            if amount:
                yield Allocation(
                    project_code=project.code,
                    account_no=account.account_no,
                    payer_uscc=project.builder_uscc,
                    period=month.first,
                    transferred_on=month.first.replace(day=rng.randint(20, 28)),
                    amount_fen=amount,
                )

    def _complaints(self, rng: random.Random, site: _Site) -> Iterator[Complaint]:
        """Half the arrears months draw a complaint; some lapsed projects an inspection."""
        project = site.project
        for month in self.calendar:
            owed = site.owed.get(month.index)
            pay_date = site.pay_dates[month.index]
            if not owed or pay_date >= self.end or rng.random() < 0.5:
                continue
            serial = owed[0][0]
            amount = sum(fen for _, fen in owed)
            yield Complaint(
                complaint_no=f"TS{month.first:%Y%m}{serial:08d}",
                kind="complaint",
                enterprise_uscc=project.contractor_uscc,
                project_code=project.code,
                worker_id_number=self.identities.id_number(serial)[0],
                filed_on=min(pay_date + timedelta(days=rng.randint(1, 12)), self.end),
                amount_fen=amount,
                status=rng.choice(_COMPLAINT_STATUSES),
                summary=(
                    f"{len(owed)}名农民工反映{project.name}拖欠"
                    f"{month.first.year}年{month.first.month}月工资共{_yuan(amount)}"
                ),
            )
        lapses = [
            text
            for lapsed, text in (
                (project.account is None, "未开设农民工工资专用账户"),
                (project.deposit is None, "未存储工资保证金"),
                (site.contract_rate < 1, "部分农民工未签订劳动合同"),
                (bool(site.arrears), "存在拖欠农民工工资情形"),
            )
            if lapsed
        ]
        if lapses and rng.random() < 0.3:
            window = (self.end - self.window_start).days
            filed = self.window_start + timedelta(days=rng.randrange(window))
            yield Complaint(
                complaint_no=f"JC{filed:%Y%m}{project.code}",
                kind="inspection",
                enterprise_uscc=project.contractor_uscc,
                project_code=project.code,
                worker_id_number=None,
                filed_on=filed,
                amount_fen=sum(fen for owed in site.owed.values() for _, fen in owed),
                status=rng.choice(_COMPLAINT_STATUSES[1:3]),
                summary=f"对{project.name}开展劳动保障专项检查，发现：{'；'.join(lapses)}",
            )

    def _case(
        self,
        rng: random.Random,
        workers: list[Worker],
        projects: dict[str, Project],
        grievances: list[_Grievance],
        index: int,
    ) -> DisputeCase | None:
        """A dispute, preferably by workers left owed; else over a sum a worker contests."""
        if grievances:
            first = grievances.pop(rng.randrange(len(grievances)))
            group = [first]
            if rng.random() < 0.25:
                group += [g for g in grievances if g.project is first.project][:3]
                for grievance in group[1:]:
                    grievances.remove(grievance)
            plaintiffs = [grievance.worker for grievance in group]
            project = first.project
            months = sorted({month for grievance in group for month in grievance.months})
            claim = sum(grievance.owed_fen for grievance in group)
        else:
            worker = rng.choice(workers)
            employment = worker.employments[-1]
            past = [work for work in employment.months if work.month < self.through_month]
            if not past:
                return None
            disputed = past[-rng.randint(1, min(2, len(past))) :]
            plaintiffs = [worker]
            project = projects[employment.project_code]
            months = [work.month for work in disputed]
            claim = sum(employment.due_fen(work) for work in disputed) * rng.randint(2, 10) // 10
        defendants = [plaintiffs[0].employments[-1].employer_uscc]
        if rng.random() < 0.6:
            defendants.append(project.contractor_uscc)
        sequence = _RANDOM_CASES_FROM + index
        return self._litigate(rng, sequence, plaintiffs, defendants, project, months, claim)

    def _litigate(
        self,
        rng: random.Random,
        sequence: int,
        plaintiffs: Sequence[Worker],
        defendants: Sequence[str],
        project: Project,
        months: Sequence[date],
        claim: int,
    ) -> DisputeCase:
        """The case's course so far: mediation, judgment and enforcement as time allowed."""
        due_on = add_months(months[-1], 1).replace(day=project.pay_day)
        filed = due_on + timedelta(days=rng.randint(5, 60))
        if filed > self.end:  # cases about recent months: filed since they fell due
            filed = due_on + timedelta(days=rng.randint(1, (self.end - due_on).days))
        remaining = (self.end - filed).days
        mediations: list[Mediation] = []
        judgment = None
        closed = None
        committee = _committee(project.region_code)
        mediator = person_name(rng, rng.random() < 0.6)
        if rng.random() < 0.45:
            kind, case_type = "pre_litigation_mediation", "民诉前调"
            held = filed + timedelta(days=min(remaining, rng.randint(3, 20)))
            agreed = None
            if remaining < 7:
                status, outcome = "mediating", "pending"
            elif rng.random() < 0.7:
                status, outcome, closed = "mediated", "agreed", held
                agreed = claim * rng.randint(70, 100) // 100
            else:
                status, outcome, closed = "closed", "failed", held
            mediations.append(Mediation(committee, mediator, held, outcome, agreed))
        else:
            kind, case_type, status = "litigation", "民初", "filed"
            if rng.random() < 0.3:
                held = filed - timedelta(days=rng.randint(1, 4))
                mediations.append(Mediation(committee, mediator, held, "failed", None))
            if remaining >= 45 and rng.random() < 0.6:
                judged = filed + timedelta(days=rng.randint(30, min(remaining, 90)))
                awarded = claim * rng.randint(80, 100) // 100
                left = (self.end - judged).days
                if left >= 20 and rng.random() < 0.6:
                    status, enforced = "closed", awarded
                    closed = judged + timedelta(days=rng.randint(10, min(45, left)))
                else:
                    status, enforced = "judged", awarded * rng.choice((0, 0, 3, 5)) // 10
                judgment = Judgment(
                    judged, awarded, enforced, _ruling(self.enterprise_names, defendants, awarded)
                )
        parties = [Party("plaintiff", w.name, w.id_number, None) for w in plaintiffs]
        parties += [
            Party("defendant", self.enterprise_names[uscc], None, uscc) for uscc in defendants
        ]
        return DisputeCase(
            case_number=make_case_number(
                filed.year, court_code(project.region_code), case_type, sequence
            ),
            court_name=_court_name(project.region_code),
            region_code=project.region_code,
            kind=kind,
            cause=CAUSE,
            claim_amount_fen=claim,
            status=status,
            filed_on=filed,
            closed_on=closed,
            project_code=project.code,
            disputed_months=tuple(months),
            parties=tuple(parties),
            mediations=tuple(mediations),
            judgment=judgment,
        )


def _ruling(names: dict[str, str], defendants: Sequence[str], awarded: int) -> str:
    defendant_names = "、".join(names[uscc] for uscc in defendants)
    return f"判决被告{defendant_names}于判决生效之日起十日内支付原告劳动报酬{_yuan(awarded)}"


# --- the planted stories ----------------------------------------------------------------

# Story workers' serials (in their contract, card and registration numbers): above any
# random worker's.
_STORY_SERIALS: Final = 99_000_000
# Key attribute, name, kind, qualification, housing credit score, legal representative, grade.
_STORY_ENTERPRISES: Final = (
    ("blacklisted_contractor_uscc", "郑州豫通建设集团有限公司", "general_contractor",
     "建筑工程施工总承包二级", 52, "刘宏伟", "D"),
    ("builder_uscc", "郑州豫景置业有限公司", "builder", "房地产开发企业二级资质", 81,
     "陈立新", "B"),
    ("compliant_contractor_uscc", "郑州安居建设工程有限公司", "general_contractor",
     "建筑工程施工总承包一级", 93, "王振华", "A"),
    ("arrears_employer_uscc", "郑州市顺达建筑劳务有限公司", "labour_subcontractor",
     "施工劳务资质", 68, "赵大勇", "C"),
    ("employer_uscc", "郑州市百川劳务有限公司", "labour_subcontractor", "施工劳务资质", 88,
     "孙保国", "A"),
)  # fmt: skip
# Key attribute, name, general contractor's key attribute, contract price (yuan),
# rights-notice board, wage special account.
_STORY_PROJECTS: Final = (
    ("arrears_project_code", "新密市青屏花园二期住宅工程", "blacklisted_contractor_uscc",
     186_000_000, True, True),
    ("no_account_project_code", "新密市溱水路棚户区改造安置房项目", "compliant_contractor_uscc",
     92_000_000, True, False),
    ("blue_project_code", "新密市第二实验小学教学楼工程", "compliant_contractor_uscc",
     48_000_000, False, True),
    ("compliant_project_code", "新密市人民医院门诊综合楼项目", "compliant_contractor_uscc",
     135_000_000, True, True),
    ("earlier_project_code", "新密市嵩山路商住楼项目", "blacklisted_contractor_uscc",
     76_000_000, True, True),
)  # fmt: skip
_MEDIATOR: Final = "李红梅"
# What the five unpaid workers got for the through month.
_UNPAID_FATES: Final = (None, None, None, "failed", "returned")

# A month of a story worker: its calendar month, days present, and what was disbursed
# (amount and status, or None).
_Day = tuple[_Month, int, tuple[int, str] | None]


class _Planting:
    """The stories' facts, built from their keys (see `stories.py`) into batch 0."""

    def __init__(
        self, keys: Stories, rng: random.Random, graded_on: date, months: tuple[date, ...]
    ) -> None:
        self.keys = keys
        self.rng = rng
        self.graded_on = graded_on
        self.end = _last_day(keys.through_month)
        self.calendar = _calendar(keys.through_month, STORY_MONTHS)
        self.site = _SITES[DISTRICT_CODE]
        self.serials = {
            id_number: _STORY_SERIALS + k for k, id_number in enumerate(keys.worker_ids)
        }
        self.batch = WorldBatch(index=0, months=months)
        self.projects: dict[str, Project] = {}
        self.names: dict[str, str] = {}

    def plant(self) -> WorldBatch:
        keys = self.keys
        for attribute, name, kind, qualification, score, person, grade in _STORY_ENTERPRISES:
            uscc = getattr(keys, attribute)
            self.names[uscc] = name
            self.batch.enterprises.append(
                Enterprise(
                    uscc,
                    name,
                    kind,
                    DISTRICT_CODE,
                    qualification,
                    score,
                    person,
                    grade,
                    self.graded_on,
                )
            )
        for attribute, name, contractor, price, board, account in _STORY_PROJECTS:
            project = self._project(
                getattr(keys, attribute),
                name,
                getattr(keys, contractor),
                price * 100,
                board=board,
                account=account,
            )
            self.projects[project.code] = project
            self.batch.projects.append(project)
        self._arrears()
        for code, crew in (
            (keys.no_account_project_code, keys.no_account_worker_ids),
            (keys.blue_project_code, keys.blue_worker_ids),
            (keys.compliant_project_code, keys.compliant_worker_ids),
        ):
            project = self.projects[code]
            team = ("王砌筑班组", "砌筑工")
            workers = [
                self._regular(id_number, project, keys.employer_uscc, team) for id_number in crew
            ]
            self.batch.workers.extend(workers)
            self._allocate(project, workers, margin=True)
        self._earlier()
        return self.batch

    def _project(
        self, code: str, name: str, contractor: str, price: int, *, board: bool, account: bool
    ) -> Project:
        issued = date.fromisoformat(code[6:14])
        start = issued + timedelta(days=12)
        completed = code == self.keys.earlier_project_code
        stopped_on = _last_day(add_months(self.keys.through_month, -20)) if completed else None
        planned_end = stopped_on or start + timedelta(days=900)
        return Project(
            code=code,
            name=name,
            region_code=DISTRICT_CODE,
            builder_uscc=self.keys.builder_uscc,
            contractor_uscc=contractor,
            contract_price_fen=price,
            start_date=start,
            planned_end_date=planned_end,
            status="completed" if completed else "under_construction",
            stopped_on=stopped_on,
            rights_notice_board=board,
            payment_guarantee=True,
            pay_day=DISPUTE_PAY_DAY if code == self.keys.arrears_project_code else 15,
            account=_wage_account(
                _STORY_BANK,
                self.site,
                code,
                start + timedelta(days=10),
                "closed" if completed else "active",
            )
            if account
            else None,
            deposit=_deposit(
                price, issued + timedelta(days=5), "refunded" if completed else "paid"
            ),
            insurance=_insurance(code, start, planned_end),
        )

    def _arrears(self) -> None:
        """The dispute worker, the five unpaid in the through month, and their paid mates."""
        keys, rng = self.keys, self.rng
        project = self.projects[keys.arrears_project_code]
        steel, carpentry = ("张钢筋班组", "钢筋工"), ("李木工班组", "木工")
        wage = DISPUTE_DAILY_WAGE_FEN
        before = self._paid_in_full(wage, self.calendar[:2])
        disputed = [m for m in self.calendar if m.first in keys.disputed_months]
        during = [
            (month, days, (paid, "paid") if paid else None)
            for month, days, paid in zip(disputed, DISPUTE_DAYS, DISPUTE_PAID_FEN, strict=True)
        ]
        crew = [
            self._worker(
                keys.dispute_worker_id,
                project,
                keys.arrears_employer_uscc,
                steel,
                wage,
                entry=add_months(keys.through_month, -8).replace(day=3),
                exit_date=_last_day(disputed[-1].first),
                days=before + during,
                name=DISPUTE_WORKER_NAME,
            )
        ]
        for id_number, fate in zip(keys.unpaid_worker_ids, _UNPAID_FATES, strict=True):
            worker_wage = rng.randint(32, 36) * 1000
            days = self._paid_in_full(worker_wage, self.calendar[:-1])
            present = rng.randint(18, 24)
            last = (present * worker_wage, fate) if fate else None
            days.append((self.calendar[-1], present, last))
            crew.append(
                self._worker(
                    id_number, project, keys.arrears_employer_uscc, steel, worker_wage, days=days
                )
            )
        for k, id_number in enumerate(keys.arrears_paid_worker_ids):
            team = steel if k < 4 else carpentry
            crew.append(self._regular(id_number, project, keys.arrears_employer_uscc, team))
        self.batch.workers.extend(crew)
        self._allocate(project, crew, margin=False)
        august = keys.disputed_months[1]
        owed = DISPUTE_DAYS[1] * wage - DISPUTE_PAID_FEN[1]
        self.batch.complaints.append(
            Complaint(
                complaint_no=f"TS{august:%Y%m}{self.serials[keys.dispute_worker_id]:08d}",
                kind="complaint",
                enterprise_uscc=keys.blacklisted_contractor_uscc,
                project_code=project.code,
                worker_id_number=keys.dispute_worker_id,
                filed_on=keys.disputed_months[2].replace(day=14),
                amount_fen=owed,
                status="referred",
                summary=f"{DISPUTE_WORKER_NAME}反映{project.name}拖欠"
                f"{august.year}年{august.month}月工资{_yuan(owed)}，已移送调解",
            )
        )
        self._dispute_case(project)

    def _dispute_case(self, project: Project) -> None:
        keys = self.keys
        month = keys.through_month
        self.batch.cases.append(
            DisputeCase(
                case_number=keys.dispute_case_number,
                court_name=_court_name(DISTRICT_CODE),
                region_code=DISTRICT_CODE,
                kind="litigation",
                cause=CAUSE,
                claim_amount_fen=DISPUTE_CLAIM_FEN,
                status="filed",
                filed_on=month.replace(day=23),
                closed_on=None,
                project_code=project.code,
                disputed_months=keys.disputed_months,
                parties=(
                    Party("plaintiff", DISPUTE_WORKER_NAME, keys.dispute_worker_id, None),
                    *self._defendants(keys.arrears_employer_uscc, keys.blacklisted_contractor_uscc),
                ),
                mediations=(
                    Mediation(COMMITTEE, _MEDIATOR, month.replace(day=16), "failed", None),
                ),
                judgment=None,
            )
        )

    def _earlier(self) -> None:
        """Two closed cases against the blacklisted contractor, and its blacklisting."""
        keys, rng = self.keys, self.rng
        project = self.projects[keys.earlier_project_code]
        contractor = keys.blacklisted_contractor_uscc
        # (plaintiff, months on the project before T, disputed months before T, days a month,
        #  daily wage in fen, share enforced in tenths)
        plan = (
            (keys.earlier_plaintiff_ids[0], (-40, -34), (-36, -35), 22, 30_000, 10),
            (keys.earlier_plaintiff_ids[1], (-30, -21), (-23, -21), 21, 32_000, 6),
        )
        filings = earlier_case_filing_months(keys.through_month)
        for (id_number, tenure, disputed, days, wage, enforced), filed_month, number in zip(
            plan, filings, keys.earlier_case_numbers, strict=True
        ):
            entry = add_months(keys.through_month, tenure[0]).replace(day=5)
            exit_date = _last_day(add_months(keys.through_month, tenure[1]))
            worker = self._worker(
                id_number,
                project,
                keys.arrears_employer_uscc,
                ("张钢筋班组", "钢筋工"),
                wage,
                entry=entry,
                exit_date=exit_date,
                days=[],
            )
            self.batch.workers.append(worker)
            months = tuple(
                add_months(keys.through_month, k) for k in range(disputed[0], disputed[1] + 1)
            )
            claim = len(months) * days * wage
            filed = filed_month.replace(day=rng.randint(5, 20))
            judged = filed + timedelta(days=rng.randint(50, 80))
            enforced_fen = claim * enforced // 10
            self.batch.cases.append(
                DisputeCase(
                    case_number=number,
                    court_name=_court_name(DISTRICT_CODE),
                    region_code=DISTRICT_CODE,
                    kind="litigation",
                    cause=CAUSE,
                    claim_amount_fen=claim,
                    status="closed",
                    filed_on=filed,
                    closed_on=judged + timedelta(days=rng.randint(40, 120)),
                    project_code=project.code,
                    disputed_months=months,
                    parties=(
                        Party("plaintiff", worker.name, id_number, None),
                        *self._defendants(contractor),
                    ),
                    mediations=(),
                    judgment=Judgment(
                        judged, claim, enforced_fen, _ruling(self.names, [contractor], claim)
                    ),
                )
            )
        listed = add_months(keys.through_month, -14).replace(day=18)
        self.batch.blacklist.append(
            BlacklistEntry(
                decision_no=f"郑人社黑〔{listed.year}〕12号",
                enterprise_uscc=contractor,
                responsible_person="刘宏伟",
                reason=f"拖欠{project.name}农民工工资，经人民法院判决"
                f"{keys.earlier_case_numbers[-1]}后仍未足额支付",
                listed_on=listed,
                removed_on=None,
            )
        )

    def _defendants(self, *usccs: str) -> tuple[Party, ...]:
        return tuple(Party("defendant", self.names[uscc], None, uscc) for uscc in usccs)

    def _paid_in_full(self, wage: int, months: Sequence[_Month]) -> list[_Day]:
        days = [(month, self.rng.randint(20, 26)) for month in months]
        return [(month, present, (present * wage, "paid")) for month, present in days]

    def _regular(
        self, id_number: str, project: Project, employer: str, team: tuple[str, str]
    ) -> Worker:
        """A worker on the project for all six months, paid in full (if it has an account)."""
        wage = self.rng.randint(30, 40) * 1000
        days = self._paid_in_full(wage, self.calendar)
        return self._worker(id_number, project, employer, team, wage, days=days)

    def _worker(
        self,
        id_number: str,
        project: Project,
        employer: str,
        team: tuple[str, str],
        wage: int,
        *,
        days: Sequence[_Day],
        entry: date | None = None,
        exit_date: date | None = None,
        name: str | None = None,
    ) -> Worker:
        keys, rng = self.keys, self.rng
        serial = self.serials[id_number]
        male = int(id_number[16]) % 2 == 1
        if entry is None:
            joined = add_months(keys.through_month, -rng.randint(7, 12)).replace(
                day=rng.randint(1, 28)
            )
            entry = max(joined, project.start_date + timedelta(days=rng.randint(3, 20)))
        account = project.account
        work = tuple(
            WorkMonth(
                month.first,
                _days_mask(rng, month, present),
                Payment(account.account_no, paid[0], month.pay_date(project.pay_day), paid[1])
                if paid is not None and account is not None
                else None,
            )
            for month, present, paid in days
        )
        home = _ORIGINS[id_number[:6]]
        residences: tuple[Residence, ...] = ()
        lapsed = id_number in keys.workers_without_residence
        if id_number in keys.earlier_plaintiff_ids or (
            lapsed and id_number not in keys.no_account_worker_ids  # those never registered
        ):
            registered = self.end - timedelta(days=rng.randint(200, 500))
            address = street_address(rng, self.site)
            residences = (
                _residence(serial, 0, self.site, address, registered, _SHORT_STAY, self.end),
            )
        elif not lapsed:
            registered = _renewed_since(rng, entry, self.end)
            address = street_address(rng, self.site)
            residences = (
                _residence(serial, 0, self.site, address, registered, _RENEWED, self.end),
            )
        issued = entry - timedelta(days=rng.randint(100, 1500))
        certificates = (
            (
                Certificate(
                    f"S{issued:%Y}{serial:08d}",
                    team[1],
                    "中级工",
                    issued,
                    issued + _CERTIFICATE_TERM,
                ),
            )
            if id_number == keys.dispute_worker_id or rng.random() < 0.5
            else ()
        )
        return Worker(
            id_number=id_number,
            name=name or person_name(rng, male),
            household_region_code=home.code,
            household_address=street_address(rng, home),
            employments=(
                Employment(
                    project_code=project.code,
                    employer_uscc=employer,
                    team=team[0],
                    trade=team[1],
                    entry_date=entry,
                    exit_date=exit_date,
                    daily_wage_fen=wage,
                    pay_day=project.pay_day,
                    contract=Contract(f"HT{entry:%Y%m%d}{serial:08d}1", entry, exit_date),
                    months=work,
                ),
            ),
            residences=residences,
            certificates=certificates,
            card=PayrollCard(_card_number(_STORY_BANK, serial), _STORY_BANK.name, entry),
        )

    def _allocate(self, project: Project, crew: Sequence[Worker], *, margin: bool) -> None:
        """What the builder transferred: 5% over the payroll due, or exactly what was paid."""
        if project.account is None:
            return
        for month in self.calendar:
            due = paid = 0
            for worker in crew:
                for employment in worker.employments:
                    for work in employment.months:
                        if work.month == month.first:
                            due += employment.due_fen(work)
                            if work.payment is not None and work.payment.status == "paid":
                                paid += work.payment.amount_fen
            amount = _round_up(due * 21 // 20) if margin else paid
            if amount:
                self.batch.allocations.append(
                    Allocation(
                        project_code=project.code,
                        account_no=project.account.account_no,
                        payer_uscc=project.builder_uscc,
                        period=month.first,
                        transferred_on=month.first.replace(day=25),
                        amount_fen=amount,
                    )
                )
