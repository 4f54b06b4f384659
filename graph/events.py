"""What the data says now, for the warnings the hub pushes to agencies: each project's
three-colour level, workers who attended and got nothing, workers on site without a
temporary residence registration, blacklisted enterprises on projects that started while
they were listed, and complaints or cases against red projects.

The same rules that answer `projectWarnings`, `wagePositions` and
`workersWithoutResidence`: here project by project, through the same functions with
loaders built for an unlimited system caller, where an agency is reached over the network;
set-based over the whole month (`graph.sweep`) where this process holds the agencies'
databases, which a test holds equal to the former, so an event never says something the
graph would not. What
*changed* since the last evaluation is decided by the alerts store (`alerts.rules`),
which keeps the last-known state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import date, timedelta
from typing import Any

from connectors.court.loaders import CourtLoaders
from connectors.housing.loaders import HousingLoaders, ProjectFilter
from connectors.hr.loaders import HrLoaders
from graph.derived.compliance import UNDER_CONSTRUCTION, WarningLevel, _assess_page
from graph.derived.freshness import freshness
from graph.derived.residence import _unregistered
from graph.derived.wages import PAYROLL, PaymentStatus, WagePosition, load_project_month
from graph.observations import (
    Baseline,
    BlacklistHit,
    Filing,
    Observations,
    ProjectLevel,
    ResidenceGap,
    Unpaid,
)
from graph.scope import scope
from graph.sweep import in_process, listed_on, previous_month, sweep
from kernel.caller import Caller
from kernel.context import Info, LoaderFactories, offline_info
from kernel.cursors import Cursors
from kernel.scalars import month_end

SYSTEM = Caller(client_id="hub:warnings", agency="hub", purpose="warning-evaluation")
"""Who evaluates: no row limits, so every project is seen. Scopes do not matter here:
nothing is resolved through the schema's field guards."""
PROJECTS_PER_CONTEXT = 200
"""Projects evaluated with one set of loaders; a fresh set after that, so the loaders'
caches (every worker's attendance and pay) stay bounded on a province."""


class Observer:
    """Runs the rules over every agency's data: set-based (`graph.sweep`) when this
    process holds the agencies' databases, else project by project through the
    connectors' loaders (`per_project`: always so, as the reference the sweep is tested
    against)."""

    def __init__(
        self, loader_factories: LoaderFactories, cursors: Cursors, *, per_project: bool = False
    ) -> None:
        self.loader_factories = loader_factories
        self.cursors = cursors
        self.per_project = per_project

    def info(self) -> Info:
        return offline_info(self.loader_factories, self.cursors, SYSTEM)

    async def observe(
        self, month: date | None, today: date, since: Baseline | None = None
    ) -> Observations:
        """`month`: by default the latest month the bank's payroll covers (the month a
        close is about), the month before today's when the bank has sent none. `since`:
        what the last evaluation of the present month saw (after an import): only what
        changed since is looked at again (`graph.scope`); without it, everything."""
        info = self.info()
        fresh = await freshness(info)
        month = month or _covered_month(fresh.as_of.get(PAYROLL), today)
        day = min(month_end(month), today)
        found = Observations(month=month, day=day)
        found.payroll_known = fresh.covers(PAYROLL, month)
        databases = None if self.per_project else in_process(info)
        if databases is not None:
            found.scope, found.baseline = await scope(
                databases.by_agency(), since, fresh, month, day, previous_month(month)
            )
            await sweep(info, databases, fresh, found)
            return found
        districts = found.districts
        async for page_info, rows in self._project_pages():
            await self._projects(page_info, rows, found)
            districts.update(row.region_code for row in rows)
        for district in sorted(districts):
            async for worker in _unregistered(self.info(), district, day, None):
                found.gaps.append(ResidenceGap(worker=worker, district=district))
        return found

    async def _project_pages(self) -> AsyncIterator[tuple[Info, list[Any]]]:
        criteria = ProjectFilter(statuses=(UNDER_CONSTRUCTION,))
        cursor = None
        while True:
            info = self.info()
            housing = info.context.loaders(HousingLoaders)
            rows = list(await housing.projects_page(criteria, cursor, PROJECTS_PER_CONTEXT))
            if not rows:
                return
            yield info, rows
            cursor = rows[-1].code

    async def _projects(self, info: Info, rows: list[Any], found: Observations) -> None:
        """A page of projects at once: their look-ups go out together, one statement per
        loader for the page (not one per project)."""
        by_code = {row.code: row for row in rows}
        assessed = await _assess_page(info, list(by_code), found.month)
        await asyncio.gather(
            *(self._project(info, by_code[c.project_code], c, found) for c in assessed)
        )

    async def _project(
        self, info: Info, project: Any, compliance: Any, found: Observations
    ) -> None:
        month = found.month
        failed = tuple(m.measure.name for m in compliance.measures if m.satisfied is False)
        found.projects.append(
            ProjectLevel(
                code=project.code,
                region_code=project.region_code,
                level=WarningLevel(compliance.level).name,
                failed=failed,
                no_data_from=tuple(compliance.no_data_from),
            )
        )
        project_month = await load_project_month(info, project.code, month)
        unpaid = _unpaid(project_month.positions())
        work = [self._blacklisted(info, project, project_month.registrations, found)]
        if compliance.level == WarningLevel.RED:
            work.append(self._filings(info, project, month, found))
        if unpaid:
            work.append(self._unpaid_months(info, project, unpaid, found))
        await asyncio.gather(*work)

    async def _unpaid_months(
        self, info: Info, project: Any, unpaid: dict[str, int], found: Observations
    ) -> None:
        before = _unpaid(
            (await load_project_month(info, project.code, previous_month(found.month))).positions()
        )
        found.unpaid.extend(
            Unpaid(
                worker=worker,
                project_code=project.code,
                region_code=project.region_code,
                days_present=days,
                months=2 if worker in before else 1,
            )
            for worker, days in unpaid.items()
        )

    async def _blacklisted(
        self, info: Info, project: Any, registrations: Any, found: Observations
    ) -> None:
        """Enterprises on the project (builder, general contractor, every employer of a
        registered worker) listed on the day the project started, or whose legal
        representative is a listed responsible person."""
        housing = info.context.loaders(HousingLoaders)
        hr = info.context.loaders(HrLoaders)
        usccs = sorted(
            {project.builder_uscc, project.contractor_uscc}
            | {r.employer_uscc for r in registrations}
        )
        entries = await hr.blacklist_by_enterprise.load_many(usccs)
        enterprises = await housing.enterprise.load_many(usccs)
        people = sorted({e.legal_representative for e in enterprises if e is not None})
        by_person = dict(
            zip(people, await hr.blacklist_by_responsible_person.load_many(people), strict=True)
        )
        for uscc, listed, enterprise in zip(usccs, entries, enterprises, strict=True):
            hits = [(entry, "enterprise") for entry in listed]
            if enterprise is not None:
                hits += [
                    (entry, "responsible_person")
                    for entry in by_person.get(enterprise.legal_representative, ())
                    if entry.enterprise_uscc != uscc
                ]
            for entry, via in hits:
                if listed_on(entry, project.start_date):
                    found.blacklisted.append(
                        BlacklistHit(
                            uscc=uscc,
                            project_code=project.code,
                            region_code=project.region_code,
                            decision_no=entry.decision_no,
                            via=via,
                        )
                    )

    async def _filings(self, info: Info, project: Any, month: date, found: Observations) -> None:
        hr = info.context.loaders(HrLoaders)
        court = info.context.loaders(CourtLoaders)
        complaints = await hr.complaints_by_project.load(project.code)
        cases = await court.cases_by_project.load(project.code)
        filed = [("complaint", c.complaint_no, c.filed_on) for c in complaints] + [
            ("case", c.case_number, c.filed_on) for c in cases
        ]
        for source, number, filed_on in filed:
            if filed_on >= month:
                found.filings.append(
                    Filing(source, number, project.code, project.region_code, filed_on)
                )


def _unpaid(positions: Iterable[WagePosition]) -> dict[str, int]:
    """Workers who attended and were paid nothing, with their days on site."""
    return {
        p.worker_id_number: p.days_present
        for p in positions
        if p.status is PaymentStatus.UNPAID and p.days_present > 0
    }


def _covered_month(as_of: date | None, today: date) -> date:
    month = (as_of or today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if as_of is not None and as_of < month_end(month):
        month = previous_month(month)
    return month


__all__ = [
    "Baseline",
    "BlacklistHit",
    "Filing",
    "Observations",
    "Observer",
    "ProjectLevel",
    "ResidenceGap",
    "Unpaid",
]
