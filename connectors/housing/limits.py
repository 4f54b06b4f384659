"""What the real-name platform's records decide about row limits: a project's region, and
the links that place workers and enterprises on projects (a worker's registrations; an
enterprise's projects as builder or general contractor and its workers' registrations)."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import Any

from connectors.housing.loaders import HousingLoaders
from kernel.composition import Entity
from kernel.limits import REGIONS, Decider, Link, RowLimits


def _housing(context: Any) -> HousingLoaders:
    loaders: HousingLoaders = context.loaders(HousingLoaders)
    return loaders


async def _projects_in_regions(
    context: Any, prefixes: tuple[str, ...], codes: list[Hashable]
) -> list[bool]:
    rows = await _housing(context).project.load_many(codes)
    return [r is not None and r.region_code.startswith(prefixes) for r in rows]


async def _projects_of_workers(context: Any, id_numbers: list[Hashable]) -> list[list[Hashable]]:
    found = await _housing(context).registrations_by_worker.load_many(id_numbers)
    return [[r.project_code for r in registrations] for registrations in found]


async def _projects_of_enterprises(context: Any, usccs: list[Hashable]) -> list[list[Hashable]]:
    housing = _housing(context)
    contracted, built, employed = await asyncio.gather(
        housing.projects_by_contractor.load_many(usccs),
        housing.projects_by_builder.load_many(usccs),
        housing.registrations_by_employer.load_many(usccs),
    )
    return [
        [p.code for p in c] + [p.code for p in b] + [r.project_code for r in e]
        for c, b, e in zip(contracted, built, employed, strict=True)
    ]


async def _employers_of_workers(context: Any, id_numbers: list[Hashable]) -> list[list[Hashable]]:
    found = await _housing(context).registrations_by_worker.load_many(id_numbers)
    return [[r.employer_uscc for r in registrations] for registrations in found]


async def _enterprises_of_projects(context: Any, codes: list[Hashable]) -> list[list[Hashable]]:
    rows = await _housing(context).project.load_many(codes)
    return [[r.builder_uscc, r.contractor_uscc] if r is not None else [] for r in rows]


ROW_LIMITS = RowLimits(
    deciders=(Decider(REGIONS.name, Entity.PROJECT, _projects_in_regions),),
    links=(
        Link(Entity.WORKER, Entity.PROJECT, _projects_of_workers),
        Link(Entity.ENTERPRISE, Entity.PROJECT, _projects_of_enterprises),
        Link(Entity.WORKER, Entity.ENTERPRISE, _employers_of_workers),
        Link(Entity.PROJECT, Entity.ENTERPRISE, _enterprises_of_projects),
    ),
)
