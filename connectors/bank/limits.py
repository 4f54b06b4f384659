"""The bank's row limit — a bank sees the projects whose wage special account it keeps, and
only its own accounts' rows — and what its records decide: a project's account keeper.
A bank holds no dispute cases, so a bank-bound client sees none."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, Final

from connectors.bank.loaders import BankLoaders
from kernel.caller import Caller
from kernel.composition import Entity
from kernel.limits import Decider, RowLimit, RowLimits


def _bank_name(value: str) -> str:
    name = value.strip()
    if not 2 <= len(name) <= 100 or not name.isprintable():
        raise ValueError(f"bank {value!r}: a bank's name (中国建设银行), 2 to 100 characters")
    return name


BANK: Final = RowLimit(
    name="bank",
    label="开户银行",
    description="banks by name (中国建设银行; a branch's name starts with it): the projects "
    "whose wage special account they keep, and only those accounts' rows",
    home=Entity.PROJECT,
    check=_bank_name,
)


def kept_by(caller: Caller, rows: Sequence[Any]) -> list[Any]:
    """The rows of accounts the caller's bank keeps (rows carry `bank_name`); every row for
    a client that is not bank-bound."""
    banks = caller.limit(BANK.name)
    return [row for row in rows if not banks or row.bank_name.startswith(banks)]


async def _projects_of_banks(
    context: Any, banks: tuple[str, ...], codes: list[Hashable]
) -> list[bool]:
    loaders: BankLoaders = context.loaders(BankLoaders)
    accounts = await loaders.account_by_project.load_many(codes)
    return [a is not None and a.bank_name.startswith(banks) for a in accounts]


async def _no_cases(context: Any, banks: tuple[str, ...], numbers: list[Hashable]) -> list[bool]:
    return [False] * len(numbers)


ROW_LIMITS = RowLimits(
    kinds=(BANK,),
    deciders=(
        Decider(BANK.name, Entity.PROJECT, _projects_of_banks),
        Decider(BANK.name, Entity.DISPUTE_CASE, _no_cases),
    ),
)
