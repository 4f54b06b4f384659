"""The warnings' observations for a whole month at once, set-based: each agency's
database is read with a handful of month-wide statements (`connectors.<agency>.bulk`:
aggregates per project, or per project and worker), and the rules run in one pass over
those compact rows. The same rules as the graph's per-project answers
(`graph.derived.compliance._assess`, `graph.derived.wages.wage_position`,
`graph.derived.residence._unregistered`), which `graph.events` still runs project by
project where an agency is reached over the network; a test holds the two equal.

Per project, from housing: workers registered in the month, of them without a contract in
force and without attendance (counted by the database), and each attending worker's days
and daily wage (the latest-signed contract in force, looked up by the database); from the
bank: each special account's status and the month's allocations, and each worker's pay
for the month; from HR: wage deposits and the blacklist. Residence: every worker with an
open registration on a site of the districts, against everyone the police have
registered on the day.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from connectors.bank import bulk as bank_bulk
from connectors.bank.loaders import BankLoaders
from connectors.court.loaders import CourtLoaders
from connectors.housing import bulk as housing_bulk
from connectors.housing.loaders import HousingLoaders
from connectors.hr import bulk as hr_bulk
from connectors.hr.loaders import HrLoaders
from connectors.local import LocalTransport
from connectors.public_security import bulk as police_bulk
from connectors.public_security.loaders import PoliceLoaders
from graph.derived.compliance import (
    ACTIVE_ACCOUNT,
    SEVERITY,
    SOURCES,
    UNDER_CONSTRUCTION,
    Measure,
    WarningLevel,
)
from graph.derived.freshness import Freshness
from graph.derived.wages import PAYROLL
from graph.observations import (
    BlacklistHit,
    Filing,
    Observations,
    ProjectLevel,
    ResidenceGap,
    Unpaid,
)
from kernel.context import Info
from kernel.scalars import month_end
from storage.database import Database

DEPOSITED = ("paid", "exempt")


@dataclass(frozen=True)
class Databases:
    housing: Database
    bank: Database
    hr: Database
    police: Database
    court: Database

    def by_agency(self) -> dict[str, Database]:
        """As `graph.facts.changes` reads batches: by agency name."""
        return {
            "housing": self.housing,
            "bank": self.bank,
            "hr": self.hr,
            "public_security": self.police,
            "court": self.court,
        }


def in_process(info: Info) -> Databases | None:
    """The agencies' databases, when this process holds every one an evaluation reads
    (the embedded default); None when one is reached over the network."""
    found = []
    for kind in (HousingLoaders, BankLoaders, HrLoaders, PoliceLoaders, CourtLoaders):
        session = info.context.loaders(kind).session
        if not isinstance(session, LocalTransport):
            return None
        found.append(session.database)
    return Databases(*found)


_Attended = tuple[str, int, int | None]
"""(worker, days present, daily wage of the contract in force or None): compact, as a
million of them are made at scale large."""


async def sweep(info: Info, databases: Databases, fresh: Freshness, found: Observations) -> None:
    """Fills `found` for its month, as far as its scope goes (`graph.scope`): the levels,
    unpaid workers and filings of the projects in it, the rules it names."""
    month, day = found.month, found.day
    last_day = month_end(month)
    status = UNDER_CONSTRUCTION
    scope = found.scope
    all_projects = await housing_bulk.projects(databases.housing, status)
    started = [p for p in all_projects if p.start_date <= last_day]
    if scope.projects is None:
        projects, codes = started, None
    else:
        projects = [p for p in started if p.code in scope.projects]
        codes = [p.code for p in projects]
    registered, attended, contracted, paid, accounts, deposits = await asyncio.gather(
        housing_bulk.registered(databases.housing, month, last_day, status, codes),
        housing_bulk.attended(databases.housing, month, last_day, status, codes),
        housing_bulk.contracted(databases.housing, month, last_day, status, codes),
        bank_bulk.paid(databases.bank, month, projects=codes),
        bank_bulk.accounts(databases.bank, month),
        hr_bulk.deposits(databases.hr),
    )
    if scope.gaps:
        found.districts.update(p.region_code for p in all_projects)
    daily = _in_force(contracted)
    by_project: dict[str, list[_Attended]] = defaultdict(list)
    present = set()
    for code, worker, days in attended:
        key = (code, worker)
        present.add(key)
        by_project[code].append((worker, days, daily.get(key)))
    counts = _registered(registered, daily, present)
    paid_fen: dict[tuple[str, str], int] = defaultdict(int)
    for code, worker, amount in paid:
        paid_fen[code, worker] += amount
    account = {r.project_code: (r.status, r.allocated_fen) for r in accounts}
    deposit = {r.project_code: r.status for r in deposits}
    missing = {m: fresh.missing(SOURCES[m], month) for m in Measure}
    no_data_from = tuple(sorted({agency for gone in missing.values() for agency, _ in gone}))

    unpaid: list[tuple[Any, _Attended]] = []
    red = []
    payroll_known = found.payroll_known
    for project in projects:
        code = project.code
        rows = by_project.get(code, ())
        due = sum(days * wage for _, days, wage in rows if wage is not None)
        short = False
        if payroll_known:
            for a in rows:
                worker, days, wage = a
                got = paid_fen.get((code, worker), 0)
                if got == 0:
                    short = True
                    unpaid.append((project, a))
                elif wage is not None and got < days * wage:
                    short = True
        active, uncontracted, absent = counts.get(code, (0, 0, 0))
        held = account.get(code)
        visible = held is not None
        checks: list[tuple[Measure, bool | None]] = [
            (Measure.RIGHTS_NOTICE_BOARD, project.rights_notice_board),
            (Measure.WAGE_SPECIAL_ACCOUNT, held is not None and held[0] == ACTIVE_ACCOUNT),
            (Measure.REAL_NAME_REGISTRATION, active > 0),
            (Measure.LABOUR_CONTRACTS, uncontracted == 0),
            (Measure.WAGE_DEPOSIT, deposit.get(code) in DEPOSITED),
            (Measure.PAYMENT_GUARANTEE, project.payment_guarantee),
            (Measure.SPECIAL_ACCOUNT_FUNDING, held[1] >= due if held is not None else None),
            (Measure.REAL_NAME_ATTENDANCE, absent == 0),
            (Measure.WAGES_PAID_MONTHLY, not short if visible else None),
        ]
        failed = tuple(m.name for m, ok in checks if ok is False and not missing[m])
        level = max(
            (SEVERITY[m] for m, ok in checks if ok is False and not missing[m]),
            default=WarningLevel.NONE,
        )
        found.projects.append(
            ProjectLevel(code, project.region_code, WarningLevel(level).name, failed, no_data_from)
        )
        if level == WarningLevel.RED:
            red.append(project)
    work = [_unpaid(databases, fresh, unpaid, found), _filings(info, red, found)]
    if scope.blacklist:
        work.append(_blacklisted(info, databases, started, found))
    if scope.gaps:
        work.append(_gaps(databases, sorted(found.districts), day, found))
    await asyncio.gather(*work)


def _in_force(contracted: Sequence[Any]) -> dict[tuple[str, str], int]:
    """(project, worker) → the daily wage of the latest-signed contract in force."""
    latest: dict[tuple[str, str], tuple[Any, int]] = {}
    for code, worker, signed_on, wage in contracted:
        key = (code, worker)
        kept = latest.get(key)
        if kept is None or signed_on > kept[0]:
            latest[key] = (signed_on, wage)
    return {key: wage for key, (_, wage) in latest.items()}


def _registered(
    registered: Sequence[Any], contracted: Mapping[tuple[str, str], int], present: set[Any]
) -> dict[str, tuple[int, int, int]]:
    """Per project: workers registered in the month, of them without a contract in
    force, of them without attendance."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for key in {(code, worker) for code, worker in registered}:
        counted = counts[key[0]]
        counted[0] += 1
        counted[1] += key not in contracted
        counted[2] += key not in present
    return {code: (a, b, c) for code, (a, b, c) in counts.items()}


async def _unpaid(
    databases: Databases, fresh: Freshness, unpaid: list[tuple[Any, _Attended]], found: Observations
) -> None:
    """Attended and paid nothing; two months when the month before was so too (on the
    same project, its payroll known): the workers' attendance and pay in that month read
    for all of them at once."""
    before = previous_month(found.month)
    twice: set[tuple[str, str]] = set()
    workers = sorted({worker for _, (worker, _, _) in unpaid})
    if workers and fresh.covers(PAYROLL, before):
        attendance, disbursements = await asyncio.gather(
            housing_bulk.attending(databases.housing, before, workers),
            bank_bulk.paid(databases.bank, before, workers=workers),
        )
        got: dict[tuple[str, str], int] = defaultdict(int)
        for code, worker, amount in disbursements:
            got[code, worker] += amount
        twice = {(code, worker) for code, worker in attendance if got.get((code, worker), 0) == 0}
    found.unpaid.extend(
        Unpaid(
            worker=worker,
            project_code=project.code,
            region_code=project.region_code,
            days_present=days,
            months=2 if (project.code, worker) in twice else 1,
        )
        for project, (worker, days, _) in unpaid
    )


async def _blacklisted(
    info: Info, databases: Databases, projects: Sequence[Any], found: Observations
) -> None:
    """Every (project, enterprise) pair that can hit — the listed enterprises and those
    a listed person represents, as builder, contractor or a registered worker's employer
    — judged as `graph.events` judges a project's enterprises."""
    entries = await hr_bulk.blacklist(databases.hr)
    if not entries:
        return
    by_uscc: dict[str, list[Any]] = defaultdict(list)
    by_person: dict[str, list[Any]] = defaultdict(list)
    for entry in entries:
        by_uscc[entry.enterprise_uscc].append(entry)
        by_person[entry.responsible_person].append(entry)
    represented = await housing_bulk.representatives(
        databases.housing, sorted(by_uscc), sorted(by_person)
    )
    representative = {row.uscc: row.legal_representative for row in represented}
    candidates = set(by_uscc) | set(representative)
    on = {p.code: p for p in projects}
    pairs = {
        (p.code, uscc)
        for p in projects
        for uscc in (p.builder_uscc, p.contractor_uscc)
        if uscc in candidates
    }
    pairs.update(
        (row.project_code, row.employer_uscc)
        for row in await housing_bulk.employers(databases.housing, sorted(candidates))
        if row.project_code in on
    )
    for code, uscc in sorted(pairs):
        project = on[code]
        hits = [(entry, "enterprise") for entry in by_uscc.get(uscc, ())]
        if uscc in representative:
            hits += [
                (entry, "responsible_person")
                for entry in by_person.get(representative[uscc], ())
                if entry.enterprise_uscc != uscc
            ]
        for entry, via in hits:
            if listed_on(entry, project.start_date):
                found.blacklisted.append(
                    BlacklistHit(uscc, code, project.region_code, entry.decision_no, via)
                )


async def _filings(info: Info, red: Sequence[Any], found: Observations) -> None:
    if not red:
        return
    hr = info.context.loaders(HrLoaders)
    court = info.context.loaders(CourtLoaders)
    codes = [p.code for p in red]
    complaints, cases = await asyncio.gather(
        hr.complaints_by_project.load_many(codes), court.cases_by_project.load_many(codes)
    )
    for project, filed_complaints, filed_cases in zip(red, complaints, cases, strict=True):
        filed = [("complaint", c.complaint_no, c.filed_on) for c in filed_complaints] + [
            ("case", c.case_number, c.filed_on) for c in filed_cases
        ]
        for source, number, filed_on in filed:
            if filed_on >= found.month:
                found.filings.append(
                    Filing(source, number, project.code, project.region_code, filed_on)
                )


async def _gaps(
    databases: Databases, districts: Sequence[str], day: date, found: Observations
) -> None:
    on_sites, registered = await asyncio.gather(
        housing_bulk.on_sites(databases.housing, districts),
        police_bulk.registered_on(databases.police, day),
    )
    unregistered = {
        (row.region_code, row.worker_id_number)
        for row in on_sites
        if row.worker_id_number not in registered
    }
    found.gaps.extend(
        ResidenceGap(worker=worker, district=district) for district, worker in sorted(unregistered)
    )


def previous_month(month: date) -> date:
    return (month - timedelta(days=1)).replace(day=1)


def listed_on(entry: Any, day: date) -> bool:
    """The blacklist entry is in force on the day."""
    return bool(entry.listed_on <= day and (entry.removed_on is None or entry.removed_on > day))
