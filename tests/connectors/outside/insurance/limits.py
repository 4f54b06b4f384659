"""A new kind of row limit: a fund sees the enterprises it insures, and through the links
other agencies contribute, their projects and workers."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from connectors.insurance.loaders import InsuranceLoaders
from kernel.composition import Entity
from kernel.limits import Decider, RowLimit, RowLimits


def _fund_code(value: str) -> str:
    code = value.strip()
    if not (code.startswith("F") and code[1:].isdigit()):
        raise ValueError(f"fund {value!r}: expected F and digits (F4101)")
    return code


FUNDS = RowLimit(
    name="funds",
    label="社保基金",
    description="fund codes (F4101): the enterprises those funds insure",
    home=Entity.ENTERPRISE,
    check=_fund_code,
)


async def _insured(context: Any, funds: tuple[str, ...], usccs: list[Hashable]) -> list[bool]:
    found = await context.loaders(InsuranceLoaders).policies_by_enterprise.load_many(usccs)
    return [any(p.fund_code in funds for p in policies) for policies in found]


ROW_LIMITS = RowLimits(kinds=(FUNDS,), deciders=(Decider(FUNDS.name, Entity.ENTERPRISE, _insured),))
