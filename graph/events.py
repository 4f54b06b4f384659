"""What the data says now, for the warnings the hub pushes to agencies: each project's
three-colour level, workers who attended and got nothing, workers on site without a
temporary residence registration, blacklisted enterprises on projects that started while
they were listed, and complaints or cases against red projects.

The same rules that answer `projectWarnings`, `wagePositions` and
`workersWithoutResidence` are reused here (the same functions, with loaders built for an
unlimited system caller), so an event never says something the graph would not. What
*changed* since the last evaluation is decided by the alerts store (`alerts.rules`),
which keeps the last-known state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from connectors.court.loaders import CourtLoaders
from connectors.housing.loaders import HousingLoaders, ProjectFilter
from connectors.hr.loaders import HrLoaders
from graph.derived.compliance import UNDER_CONSTRUCTION, WarningLevel, _assess_page
from graph.derived.freshness import freshness
from graph.derived.residence import _unregistered
from graph.derived.wages import PAYROLL, PaymentStatus, WagePosition, load_project_month
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


@dataclass(frozen=True)
class ProjectLevel:
    code: str
    region_code: str
    level: str
    failed: tuple[str, ...]
    no_data_from: tuple[str, ...]


@dataclass(frozen=True)
class Unpaid:
    """Attended in the month, paid nothing (the bank's payroll covers the month)."""

    worker: str
    project_code: str
    region_code: str
    days_present: int
    months: int = 1
    """1, or 2 when the month before was unpaid too (two or more months in a row)."""


@dataclass(frozen=True)
class ResidenceGap:
    worker: str
    district: str
    """The site's district (a six-digit region code): whose police is told."""


@dataclass(frozen=True)
class BlacklistHit:
    uscc: str
    project_code: str
    region_code: str
    decision_no: str
    via: str
    """`enterprise` (the enterprise is listed) or `responsible_person` (a listed
    responsible person, by name, is its legal representative)."""


@dataclass(frozen=True)
class Filing:
    """A complaint or dispute case filed against a project that is red in the month."""

    source: str
    """`complaint` or `case`."""
    number: str
    project_code: str
    region_code: str
    filed_on: date


@dataclass
class Observations:
    month: date
    day: date
    """The day residence is judged on: the month's last day, or today if earlier."""
    projects: list[ProjectLevel] = field(default_factory=list)
    unpaid: list[Unpaid] = field(default_factory=list)
    gaps: list[ResidenceGap] = field(default_factory=list)
    blacklisted: list[BlacklistHit] = field(default_factory=list)
    filings: list[Filing] = field(default_factory=list)
    districts: set[str] = field(default_factory=set)
    """Districts whose sites were looked at for residence gaps."""
    payroll_known: bool = False


class Observer:
    """Runs the rules over every agency's data, through the connectors' loaders."""

    def __init__(self, loader_factories: LoaderFactories, cursors: Cursors) -> None:
        self.loader_factories = loader_factories
        self.cursors = cursors

    def info(self) -> Info:
        return offline_info(self.loader_factories, self.cursors, SYSTEM)

    async def observe(self, month: date | None, today: date) -> Observations:
        """`month`: by default the latest month the bank's payroll covers (the month a
        close is about), the month before today's when the bank has sent none."""
        fresh = await freshness(self.info())
        month = month or _covered_month(fresh.as_of.get(PAYROLL), today)
        day = min(month_end(month), today)
        found = Observations(month=month, day=day)
        districts = found.districts
        found.payroll_known = fresh.covers(PAYROLL, month)
        async for info, rows in self._project_pages():
            await self._projects(info, rows, found)
            districts.update(row.region_code for row in rows)
        for district in sorted(districts):
            info = self.info()
            async for worker in _unregistered(info, district, day, None):
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
            (await load_project_month(info, project.code, _previous(found.month))).positions()
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
                if _listed_on(entry, project.start_date):
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
        month = _previous(month)
    return month


def _previous(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def _listed_on(entry: Any, day: date) -> bool:
    return bool(entry.listed_on <= day and (entry.removed_on is None or entry.removed_on > day))


__all__ = [
    "BlacklistHit",
    "Filing",
    "Observations",
    "Observer",
    "ProjectLevel",
    "ResidenceGap",
    "Unpaid",
]
