"""A worker's monthly wage position: wages due (housing attendance × e-contract daily
wage) against payroll the bank actually paid. Computed on request, never stored.

Pay counts for the month it belongs to (back pay included: `Disbursement.period`). A month
the bank's payroll data does not reach yet is NO_DATA, not unpaid
(`graph.derived.freshness`)."""

from __future__ import annotations

import asyncio
import enum
from collections import defaultdict
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Final

import strawberry

from connectors.bank.graph import DisbursementStatus
from connectors.bank.loaders import BankLoaders
from connectors.housing.loaders import HousingLoaders
from graph.derived.freshness import Source, freshness
from kernel import refs
from kernel.access import scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.ownership import belongs_to, discloses
from kernel.scalars import Fen, YearMonth, in_months, month_end
from kernel.scopes import WAGE_READ

PAID = DisbursementStatus.PAID.value
PAYROLL: Final[Source] = ("bank", "disbursements")


@strawberry.enum(description="How a month's pay compares with what was due")
class PaymentStatus(enum.Enum):
    PAID = "paid"
    UNDERPAID = "underpaid"
    UNPAID = "unpaid"
    NOT_DUE = "not_due"
    NO_DATA = strawberry.enum_value(
        "no_data", description="the bank has sent no payroll for the month yet"
    )


@belongs_to(Entity.PROJECT, "project_code")
@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WAGE_READ)
@strawberry.type(description="工资支付情况: one worker, one project, one month.")
class WagePosition:
    worker_id_number: strawberry.Private[str]
    project_code: strawberry.Private[str]
    month: YearMonth
    days_present: int = strawberry.field(description="Days on the real-name attendance record")
    daily_wage_fen: Fen | None = strawberry.field(
        description="From the e-contract in force; null when there is none"
    )
    due_fen: Fen | None = strawberry.field(description="days × daily wage; null without a contract")
    paid_fen: Fen = strawberry.field(description="Disbursed by the bank with status paid")
    arrears_fen: Fen | None = strawberry.field(
        description="due − paid, never negative; null without a contract or payroll data"
    )
    status: PaymentStatus

    @scoped_resolver(WAGE_READ)
    def worker(self) -> refs.WorkerRef | None:
        return refs.WorkerKey(id_number=self.worker_id_number)

    @scoped_resolver(WAGE_READ)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)


def covers(contract: Any, month: date) -> bool:
    """Whether the contract is in force on any day of the month."""
    return contract.start_date <= month_end(month) and (
        contract.end_date is None or contract.end_date >= month
    )


def contract_in_force(contracts: Iterable[Any], project_code: str, month: date) -> Any | None:
    """The latest-signed contract on the project covering any day of the month."""
    covering = [c for c in contracts if c.project_code == project_code and covers(c, month)]
    return max(covering, key=lambda c: c.signed_on, default=None)


CONTRACT_DECIDES = frozenset({PaymentStatus.UNDERPAID, PaymentStatus.PAID})
"""The statuses that depend on what was due, so on the contract in force."""


def paid_fen(disbursements: Iterable[Any], project_code: str, month: date) -> int:
    """What the bank paid with status paid for the project's month."""
    return sum(
        d.amount_fen
        for d in disbursements
        if d.status == PAID and d.period == month and d.project_code == project_code
    )


def status_before_contract(
    days_present: int, paid: int, payroll_known: bool
) -> PaymentStatus | None:
    """The status, when it does not depend on the contract; else None (one of
    `CONTRACT_DECIDES`)."""
    if not payroll_known:
        return PaymentStatus.NO_DATA
    if days_present == 0 and paid == 0:
        return PaymentStatus.NOT_DUE
    if paid == 0:
        return PaymentStatus.UNPAID
    return None


def wage_position(
    worker_id_number: str,
    project_code: str,
    month: date,
    days_present: int,
    contract: Any | None,
    disbursements: Iterable[Any],
    payroll_known: bool = True,
) -> WagePosition:
    paid = paid_fen(disbursements, project_code, month)
    daily = contract.daily_wage_fen if contract is not None else None
    due = days_present * daily if daily is not None else None
    status = status_before_contract(days_present, paid, payroll_known)
    if status is None:
        status = PaymentStatus.UNDERPAID if due is not None and paid < due else PaymentStatus.PAID
    return WagePosition(
        worker_id_number=worker_id_number,
        project_code=project_code,
        month=month,
        days_present=days_present,
        daily_wage_fen=daily,
        due_fen=due,
        paid_fen=paid,
        arrears_fen=max(due - paid, 0) if due is not None and payroll_known else None,
        status=status,
    )


@dataclass(frozen=True)
class ProjectMonth:
    """Everything the hub knows about one project in one month, from housing and the bank."""

    project_code: str
    month: date
    registrations: Sequence[Any]
    attendance: Sequence[Any]
    contracts: Sequence[Any]
    disbursements: Sequence[Any]
    payroll_known: bool = True
    """Whether the bank's payroll data reaches this month."""

    @property
    def active_registrations(self) -> list[Any]:
        """Registrations open at any time during the month."""
        return [
            r
            for r in self.registrations
            if r.entry_date <= month_end(self.month)
            and (r.exit_date is None or r.exit_date >= self.month)
        ]

    def positions(self, wanted: Set[PaymentStatus] | None = None) -> list[WagePosition]:
        """Every worker's position, or (`wanted`) those with one of these statuses: a
        worker whose status is decided without the contract, and not wanted, is passed
        over before the contract is looked up and the position built."""
        days = {a.worker_id_number: a.days_present for a in self.attendance}
        contracts = _by_worker(self.contracts)
        paid = _by_worker(self.disbursements)
        workers = dict.fromkeys(
            [r.worker_id_number for r in self.active_registrations] + list(days) + list(paid)
        )
        code, month, known = self.project_code, self.month, self.payroll_known
        contract_may_decide = wanted is None or bool(wanted & CONTRACT_DECIDES)
        found = []
        for worker in workers:
            present, disbursed = days.get(worker, 0), paid.get(worker, ())
            if wanted is not None:
                early = status_before_contract(present, paid_fen(disbursed, code, month), known)
                decided = early is not None
                if (early not in wanted) if decided else not contract_may_decide:
                    continue
            contract = contract_in_force(contracts.get(worker, ()), code, month)
            position = wage_position(worker, code, month, present, contract, disbursed, known)
            if wanted is None or position.status in wanted:
                found.append(position)
        return found


def _by_worker(rows: Iterable[Any]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.worker_id_number].append(row)
    return grouped


async def load_project_month(info: Info, project_code: str, month: date) -> ProjectMonth:
    housing = info.context.loaders(HousingLoaders)
    bank = info.context.loaders(BankLoaders)
    registrations, attendance, contracts, disbursements, fresh = await asyncio.gather(
        housing.registrations_by_project.load(project_code),
        housing.attendance_by_project_month.load((project_code, month)),
        housing.contracts_by_project.load(project_code),
        bank.disbursements_by_project_period.load((project_code, month)),
        freshness(info),
    )
    return ProjectMonth(
        project_code, month, registrations, attendance, contracts, disbursements,
        fresh.covers(PAYROLL, month),
    )  # fmt: skip


@strawberry.type
class WorkerWages:
    id_number: strawberry.Private[str]

    @scoped_resolver(
        WAGE_READ, description="Wages due vs paid, per project and month, oldest first (应发与实发)"
    )
    async def wage_positions(
        self,
        info: Info,
        since: Annotated[YearMonth | None, strawberry.argument(name="from")] = None,
        until: Annotated[YearMonth | None, strawberry.argument(name="to")] = None,
    ) -> list[WagePosition] | None:
        housing = info.context.loaders(HousingLoaders)
        bank = info.context.loaders(BankLoaders)
        attendance, contracts, disbursements, fresh = await asyncio.gather(
            housing.attendance_by_worker.load(self.id_number),
            housing.contracts_by_worker.load(self.id_number),
            bank.disbursements_by_worker.load(self.id_number),
            freshness(info),
        )
        days = {(a.project_code, a.month): a.days_present for a in attendance}
        keys = sorted(
            {k for k in days if in_months(k[1], since, until)}
            | {
                (d.project_code, d.period)
                for d in disbursements
                if in_months(d.period, since, until)
            },
            key=lambda k: (k[1], k[0]),
        )
        return [
            wage_position(
                self.id_number,
                project_code,
                month,
                days.get((project_code, month), 0),
                contract_in_force(contracts, project_code, month),
                disbursements,
                fresh.covers(PAYROLL, month),
            )
            for project_code, month in keys
        ]


@strawberry.type
class ProjectWages:
    code: strawberry.Private[str]

    @scoped_resolver(
        WAGE_READ,
        description="Every worker's wage position on this project in one month; "
        "`status: [UNPAID]` answers 'who attended but was not paid'",
    )
    async def wage_positions(
        self, info: Info, month: YearMonth, status: list[PaymentStatus] | None = None
    ) -> list[WagePosition] | None:
        project_month = await load_project_month(info, self.code, month)
        wanted = set(status or PaymentStatus)
        return project_month.positions(wanted)
