"""The wage special account's monthly statement: what the builder allocated, what the bank
disbursed, against headcount and wages due from the real-name platform."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry

from connectors.bank.loaders import BankLoaders
from graph.derived.wages import PAID, PaymentStatus, load_project_month
from kernel.access import scoped_resolver, scoped_type
from kernel.context import Info
from kernel.errors import BadUserInput
from kernel.scalars import Fen, YearMonth, months_between
from kernel.scopes import WAGE_READ

MAX_STATEMENT_MONTHS = 36


@scoped_type(WAGE_READ)
@strawberry.type(description="专户月度对账: one month of a project's wage special account")
class AccountMonth:
    month: YearMonth
    allocated_fen: Fen = strawberry.field(description="人工费拨付 into the account for the month")
    disbursed_fen: Fen = strawberry.field(description="Payroll paid out for the month")
    failed_fen: Fen = strawberry.field(description="Payroll that failed or was returned")
    wages_due_fen: Fen = strawberry.field(description="Attendance × contract wage")
    headcount_registered: int
    headcount_attended: int
    headcount_paid: int
    headcount_unpaid: int = strawberry.field(description="Attended but paid nothing")


@strawberry.type
class ProjectStatement:
    code: strawberry.Private[str]

    @scoped_resolver(
        WAGE_READ,
        description="Allocations vs disbursements vs headcount, month by month (inclusive range)",
    )
    async def account_statement(
        self,
        info: Info,
        since: Annotated[YearMonth, strawberry.argument(name="from")],
        until: Annotated[YearMonth, strawberry.argument(name="to")],
    ) -> list[AccountMonth] | None:
        months = months_between(since, until)
        if not months or len(months) > MAX_STATEMENT_MONTHS:
            raise BadUserInput(
                f"from..to must cover 1 to {MAX_STATEMENT_MONTHS} months, got {len(months)}"
            )
        bank = info.context.loaders(BankLoaders)
        allocations, *project_months = await asyncio.gather(
            bank.allocations_by_project.load(self.code),
            *(load_project_month(info, self.code, m) for m in months),
        )
        statement = []
        for month, project_month in zip(months, project_months, strict=True):
            positions = project_month.positions()
            statement.append(
                AccountMonth(
                    month=month,
                    allocated_fen=sum(a.amount_fen for a in allocations if a.period == month),
                    disbursed_fen=sum(
                        d.amount_fen for d in project_month.disbursements if d.status == PAID
                    ),
                    failed_fen=sum(
                        d.amount_fen for d in project_month.disbursements if d.status != PAID
                    ),
                    wages_due_fen=sum(p.due_fen or 0 for p in positions),
                    headcount_registered=len(
                        {r.worker_id_number for r in project_month.active_registrations}
                    ),
                    headcount_attended=sum(1 for p in positions if p.days_present > 0),
                    headcount_paid=sum(1 for p in positions if p.paid_fen > 0),
                    headcount_unpaid=sum(1 for p in positions if p.status == PaymentStatus.UNPAID),
                )
            )
        return statement
