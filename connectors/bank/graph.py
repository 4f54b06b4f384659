"""What the banks contribute: wage special accounts, allocations, payroll disbursements."""

from __future__ import annotations

import enum
from datetime import date
from typing import Annotated

import strawberry

from connectors.bank.loaders import BankLoaders
from schemas import refs
from schemas.context import Info
from schemas.records import from_row, from_rows
from schemas.scalars import Fen, YearMonth, in_months


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


@strawberry.type(name="Allocation", description="人工费用拨付 into the special account")
class AllocationRecord:
    payer_uscc: strawberry.Private[str]
    period: YearMonth = strawberry.field(description="The pay period the labour cost is for")
    transferred_on: date
    amount_fen: Fen

    @strawberry.field(description="Who transferred it (the builder)")
    def payer(self) -> refs.EnterpriseRef:
        return refs.EnterpriseKey(uscc=self.payer_uscc)


@strawberry.type(name="Disbursement", description="代发工资: one worker's pay for one period")
class DisbursementRecord:
    worker_id_number: strawberry.Private[str]
    project_code: strawberry.Private[str]
    period: YearMonth
    paid_on: date
    amount_fen: Fen
    status: DisbursementStatus
    card_no: str = strawberry.field(description="The payroll card credited")

    @strawberry.field
    def worker(self) -> refs.WorkerRef:
        return refs.WorkerKey(id_number=self.worker_id_number)

    @strawberry.field
    def project(self) -> refs.ProjectRef:
        return refs.ProjectKey(code=self.project_code)


@strawberry.type(name="WageAccount", description="农民工工资专用账户")
class AccountRecord:
    holder_uscc: strawberry.Private[str]
    project_code: strawberry.Private[str]
    account_no: str
    bank_name: str
    opened_on: date
    status: AccountStatus

    @strawberry.field(description="The general contractor holding the account")
    def holder(self) -> refs.EnterpriseRef:
        return refs.EnterpriseKey(uscc=self.holder_uscc)

    @strawberry.field
    def project(self) -> refs.ProjectRef:
        return refs.ProjectKey(code=self.project_code)

    @strawberry.field(description="Labour-cost allocations into the account, oldest first")
    async def allocations(
        self,
        info: Info,
        since: Annotated[YearMonth | None, strawberry.argument(name="from")] = None,
        until: Annotated[YearMonth | None, strawberry.argument(name="to")] = None,
    ) -> list[AllocationRecord]:
        rows = await bank(info).allocations_by_project.load(self.project_code)
        return [from_row(AllocationRecord, r) for r in rows if in_months(r.period, since, until)]

    @strawberry.field(description="Payroll disbursed from the account for one pay period")
    async def disbursements(self, info: Info, period: YearMonth) -> list[DisbursementRecord]:
        rows = await bank(info).disbursements_by_project_period.load((self.project_code, period))
        return from_rows(DisbursementRecord, rows)


@strawberry.type(name="PayrollCard", description="工资卡")
class CardRecord:
    card_no: str
    bank_name: str
    opened_on: date


def bank(info: Info) -> BankLoaders:
    return info.context.loaders(BankLoaders)


@strawberry.type
class BankWorker:
    id_number: strawberry.Private[str]

    @strawberry.field(description="Payroll disbursed to this worker, oldest first")
    async def disbursements(
        self,
        info: Info,
        since: Annotated[YearMonth | None, strawberry.argument(name="from")] = None,
        until: Annotated[YearMonth | None, strawberry.argument(name="to")] = None,
    ) -> list[DisbursementRecord]:
        rows = await bank(info).disbursements_by_worker.load(self.id_number)
        return [from_row(DisbursementRecord, r) for r in rows if in_months(r.period, since, until)]

    @strawberry.field
    async def payroll_cards(self, info: Info) -> list[CardRecord]:
        return from_rows(CardRecord, await bank(info).cards_by_worker.load(self.id_number))


@strawberry.type
class BankProject:
    code: strawberry.Private[str]

    @strawberry.field(description="The project's wage special account, if one was opened")
    async def wage_account(self, info: Info) -> AccountRecord | None:
        row = await bank(info).account_by_project.load(self.code)
        return from_row(AccountRecord, row) if row else None


@strawberry.type
class BankEnterprise:
    uscc: strawberry.Private[str]

    @strawberry.field(description="Wage special accounts this enterprise holds")
    async def wage_accounts(self, info: Info) -> list[AccountRecord]:
        return from_rows(AccountRecord, await bank(info).accounts_by_holder.load(self.uscc))
