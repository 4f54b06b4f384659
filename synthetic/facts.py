"""The facts of the synthetic world: frozen dataclasses that know nothing of agencies' tables.

Each connector's `seed.py` turns them into its own rows. A `WorldBatch` is one streamed slice
of them (see `world.py`); `SCALES` says how big a world is. Money is integer fen; months are
the 1st of the month.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from kernel.regions import court_code

# The cause of action of every wage dispute case: a claim for labour remuneration.
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
