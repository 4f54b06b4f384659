"""The courts' row limit — a court or mediation committee holds the cases of its courts —
and what case records decide: a case's court and region, and the links from workers,
enterprises and projects to the cases they are parties to or subjects of."""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Final

from connectors.court.loaders import CourtLoaders
from kernel.composition import Entity
from kernel.limits import REGIONS, Decider, Link, RowLimit, RowLimits
from kernel.regions import PROVINCE_ABBREVIATIONS


def _court_code(value: str) -> str:
    code = value.strip()
    digits = code[1:]
    if not (
        len(code) == 5
        and code[0] in PROVINCE_ABBREVIATIONS.values()
        and digits.isascii()
        and digits.isdigit()
    ):
        raise ValueError(f"court {value!r}: expected a province abbreviation and 4 digits (豫0183)")
    return code


COURTS: Final = RowLimit(
    name="courts",
    label="受理法院",
    description="court codes as case numbers write them (豫0183): the cases those courts or "
    "their mediation committees hold, the parties to them and those cases' projects",
    home=Entity.DISPUTE_CASE,
    check=_court_code,
)


def _court(context: Any) -> CourtLoaders:
    loaders: CourtLoaders = context.loaders(CourtLoaders)
    return loaders


async def _cases_of_courts(
    context: Any, courts: tuple[str, ...], case_numbers: list[Hashable]
) -> list[bool]:
    rows = await _court(context).case.load_many(case_numbers)
    return [r is not None and r.court_code in courts for r in rows]


async def _cases_in_regions(
    context: Any, prefixes: tuple[str, ...], case_numbers: list[Hashable]
) -> list[bool]:
    rows = await _court(context).case.load_many(case_numbers)
    return [r is not None and r.region_code.startswith(prefixes) for r in rows]


async def _cases_of_workers(context: Any, id_numbers: list[Hashable]) -> list[list[Hashable]]:
    return _numbers(await _court(context).cases_by_worker.load_many(id_numbers))


async def _cases_of_enterprises(context: Any, usccs: list[Hashable]) -> list[list[Hashable]]:
    return _numbers(await _court(context).cases_by_enterprise.load_many(usccs))


async def _cases_of_projects(context: Any, codes: list[Hashable]) -> list[list[Hashable]]:
    return _numbers(await _court(context).cases_by_project.load_many(codes))


def _numbers(found: list[list[Any]]) -> list[list[Hashable]]:
    return [[case.case_number for case in cases] for cases in found]


ROW_LIMITS = RowLimits(
    kinds=(COURTS,),
    deciders=(
        Decider(COURTS.name, Entity.DISPUTE_CASE, _cases_of_courts),
        Decider(REGIONS.name, Entity.DISPUTE_CASE, _cases_in_regions),
    ),
    links=(
        Link(Entity.WORKER, Entity.DISPUTE_CASE, _cases_of_workers),
        Link(Entity.ENTERPRISE, Entity.DISPUTE_CASE, _cases_of_enterprises),
        Link(Entity.PROJECT, Entity.DISPUTE_CASE, _cases_of_projects),
    ),
)
