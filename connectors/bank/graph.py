"""What the banks contribute: wage special accounts, allocations, payroll disbursements."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any

import strawberry

from connectors.bank.limits import kept_by
from connectors.bank.loaders import BankLoaders
from kernel import refs
from kernel.access import caller_of, scoped, scoped_resolver, scoped_type
from kernel.composition import Entity
from kernel.context import Info
from kernel.identifiers import mask_account_number
from kernel.ownership import belongs_to, discloses
from kernel.records import from_row, from_rows
from kernel.scalars import Fen, YearMonth, in_months
from kernel.scopes import BANK_ACCOUNT, WAGE_READ


@strawberry.enum(description="代发状态")
class DisbursementStatus(enum.Enum):
    PAID = "paid"
    FAILED = "failed"
    RETURNED = "returned"


@strawberry.enum(description="专户状态")
class AccountStatus(enum.Enum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


@belongs_to(Entity.PROJECT, "project_code")
@scoped_type(WAGE_READ)
@strawberry.type(name="Allocation", description="人工费用拨付 into the special account")
class AllocationRecord:
    project_code: strawberry.Private[str]
    payer_uscc: strawberry.Private[str]
    period: YearMonth = strawberry.field(description="The pay period the labour cost is for")
    transferred_on: date
    amount_fen: Fen

    @scoped_resolver(WAGE_READ, description="Who transferred it (the builder)")
    def payer(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.payer_uscc)


@belongs_to(Entity.PROJECT, "project_code")
@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WAGE_READ)
@strawberry.type(name="Disbursement", description="代发工资: one worker's pay for one period")
class DisbursementRecord:
    worker_id_number: strawberry.Private[str]
    project_code: strawberry.Private[str]
    period: YearMonth
    paid_on: date
    amount_fen: Fen
    status: DisbursementStatus
    card_no: str = scoped(
        BANK_ACCOUNT, mask=mask_account_number, description="The payroll card credited"
    )

    @scoped_resolver(WAGE_READ)
    def worker(self) -> refs.WorkerRef | None:
        return refs.WorkerKey(id_number=self.worker_id_number)

    @scoped_resolver(WAGE_READ)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)


@belongs_to(Entity.PROJECT, "project_code")
@scoped_type(WAGE_READ)
@strawberry.type(name="WageAccount", description="农民工工资专用账户")
class AccountRecord:
    holder_uscc: strawberry.Private[str]
    project_code: strawberry.Private[str]
    account_no: str = scoped(BANK_ACCOUNT, mask=mask_account_number)
    bank_name: str
    opened_on: date
    status: AccountStatus

    @scoped_resolver(WAGE_READ, description="The general contractor holding the account")
    def holder(self) -> refs.EnterpriseRef | None:
        return refs.EnterpriseKey(uscc=self.holder_uscc)

    @scoped_resolver(WAGE_READ)
    def project(self) -> refs.ProjectRef | None:
        return refs.ProjectKey(code=self.project_code)

    @scoped_resolver(
        WAGE_READ, description="Labour-cost allocations into the account, oldest first"
    )
    async def allocations(
        self,
        info: Info,
        since: Annotated[YearMonth | None, strawberry.argument(name="from")] = None,
        until: Annotated[YearMonth | None, strawberry.argument(name="to")] = None,
    ) -> list[AllocationRecord]:
        rows = own(info, await bank(info).allocations_by_project.load(self.project_code))
        return [from_row(AllocationRecord, r) for r in rows if in_months(r.period, since, until)]

    @scoped_resolver(WAGE_READ, description="Payroll disbursed from the account for one pay period")
    async def disbursements(self, info: Info, period: YearMonth) -> list[DisbursementRecord]:
        rows = own(
            info, await bank(info).disbursements_by_project_period.load((self.project_code, period))
        )
        return from_rows(DisbursementRecord, rows)


@discloses(Entity.WORKER, "worker_id_number")
@scoped_type(WAGE_READ)
@strawberry.type(name="PayrollCard", description="工资卡")
class CardRecord:
    worker_id_number: strawberry.Private[str]
    card_no: str = scoped(BANK_ACCOUNT, mask=mask_account_number)
    bank_name: str
    opened_on: date


def bank(info: Info) -> BankLoaders:
    return info.context.loaders(BankLoaders)


def own(info: Info, rows: Sequence[Any]) -> list[Any]:
    """A bank client sees only rows of the accounts it keeps; other clients see all."""
    return kept_by(caller_of(info), rows)


@strawberry.type
class BankWorker:
    id_number: strawberry.Private[str]

    @scoped_resolver(WAGE_READ, description="Payroll disbursed to this worker, oldest first")
    async def disbursements(
        self,
        info: Info,
        since: Annotated[YearMonth | None, strawberry.argument(name="from")] = None,
        until: Annotated[YearMonth | None, strawberry.argument(name="to")] = None,
    ) -> list[DisbursementRecord] | None:
        rows = own(info, await bank(info).disbursements_by_worker.load(self.id_number))
        return [from_row(DisbursementRecord, r) for r in rows if in_months(r.period, since, until)]

    @scoped_resolver(WAGE_READ)
    async def payroll_cards(self, info: Info) -> list[CardRecord] | None:
        return from_rows(
            CardRecord, own(info, await bank(info).cards_by_worker.load(self.id_number))
        )


@strawberry.type
class BankProject:
    code: strawberry.Private[str]

    @scoped_resolver(WAGE_READ, description="The project's wage special account, if one was opened")
    async def wage_account(self, info: Info) -> AccountRecord | None:
        row = await bank(info).account_by_project.load(self.code)
        kept = own(info, [row] if row else [])
        return from_row(AccountRecord, kept[0]) if kept else None


@strawberry.type
class BankEnterprise:
    uscc: strawberry.Private[str]

    @scoped_resolver(WAGE_READ, description="Wage special accounts this enterprise holds")
    async def wage_accounts(self, info: Info) -> list[AccountRecord] | None:
        return from_rows(
            AccountRecord, own(info, await bank(info).accounts_by_holder.load(self.uscc))
        )
