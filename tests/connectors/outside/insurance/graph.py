"""What the fund contributes: an enterprise's insurance policies, under a scope of its own."""

from __future__ import annotations

from datetime import date

import strawberry

from connectors.insurance.loaders import InsuranceLoaders
from kernel.access import scoped_resolver, scoped_type
from kernel.context import Info
from kernel.records import from_rows
from kernel.scopes import Scope

INSURANCE_READ = Scope("insurance:read", "社会保险", "Enterprises' social-insurance policies.")


@scoped_type(INSURANCE_READ)
@strawberry.type(name="InsurancePolicy", description="社会保险参保")
class PolicyRecord:
    policy_no: str
    fund_code: str
    insured_from: date
    insured_workers: int


@strawberry.type
class InsuranceEnterprise:
    uscc: strawberry.Private[str]

    @scoped_resolver(INSURANCE_READ, description="The enterprise's policies, by number")
    async def insurance_policies(self, info: Info) -> list[PolicyRecord] | None:
        loaders = info.context.loaders(InsuranceLoaders)
        return from_rows(PolicyRecord, await loaders.policies_by_enterprise.load(self.uscc))
