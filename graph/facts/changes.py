"""What changed in the agencies' tables since the warning facts were last refreshed: the
projects and months to assess again (`refresh.refresh_changed`).

Every importable row carries the batch that last wrote it (`ingest.batches`), and each
agency numbers its batches. A refresh records per agency the highest number it has seen
and the lower ones it has not (an import still in flight on PostgreSQL, whose number was
drawn before a later import committed): the next refresh reads the rows of the batches
after those, in the tables an assessment reads (`WATCHED`). A row names its project, and
its month when it is about one month (attendance, payroll, allocations).

A correction can move a labour contract or a wage account to another project, and the
agencies' tables keep only the new values: for those two tables the facts keep each row's
project as of the last refresh (`warning_fact_owner`), so the project it left is
assessed again too.

An as-of day (`graph.derived.freshness`) decides which months a measure can be assessed in
and shows in the answer ("bank disbursements only through …"): when a source's as-of moves,
every project is assessed again in the months ending after the earlier of the two days.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from sqlalchemy import Select, null, select

from connectors.bank.tables import ACCOUNTS, ALLOCATIONS, DISBURSEMENTS
from connectors.bank.tables import TABLES as BANK
from connectors.housing.tables import ATTENDANCE, CONTRACTS, PROJECTS, REGISTRATIONS
from connectors.housing.tables import TABLES as HOUSING
from connectors.hr.tables import DEPOSITS
from connectors.hr.tables import TABLES as HR
from graph.derived.compliance import SOURCES
from graph.derived.freshness import Freshness, Source
from graph.derived.wages import PAYROLL
from graph.facts.marks import UNSEEN_KEPT, Marks, Seen
from ingest.targets import AgencyTables, Importable
from kernel.scalars import month_end
from storage.database import Database

Sources = Mapping[str, Database]
"""The agencies' databases, by agency name (those reached in process)."""

AGENCIES: Final[dict[str, AgencyTables]] = {t.agency: t for t in (HOUSING, BANK, HR)}
"""The agencies an assessment reads."""
ASSESSED: Final[frozenset[Source]] = frozenset(
    {source for sources in SOURCES.values() for source in sources} | {PAYROLL}
)
"""The (agency, table) pairs whose as-of days an assessment depends on."""
CHUNK: Final = 500


@dataclass(frozen=True)
class Watched:
    """One table an assessment reads: how its changed rows name projects and months."""

    importable: Importable
    project: str
    month: str | None = None
    owner: str | None = None
    """The key column of a row that can move to another project (its project is kept)."""

    @property
    def name(self) -> str:
        return self.importable.name

    def rows(self, batches: Collection[int]) -> Select[Any]:
        """(project, month or None, owner key or None) of the rows these batches wrote."""
        table = self.importable.table
        return (
            select(
                table.c[self.project],
                table.c[self.month] if self.month else null(),
                table.c[self.owner] if self.owner else null(),
            )
            .where(table.c.batch_id.in_(sorted(batches)))
            .distinct()
        )


WATCHED: Final[dict[str, tuple[Watched, ...]]] = {
    "housing": (
        Watched(PROJECTS, "code"),
        Watched(REGISTRATIONS, "project_code"),
        Watched(ATTENDANCE, "project_code", month="month"),
        Watched(CONTRACTS, "project_code", owner="contract_no"),
    ),
    "bank": (
        Watched(ACCOUNTS, "project_code", owner="account_no"),
        Watched(DISBURSEMENTS, "project_code", month="period"),
    ),
    "hr": (Watched(DEPOSITS, "project_code"),),
}
"""Allocations name their account, not their project: read through the accounts."""
OWNED: Final = {w.name: w for ws in WATCHED.values() for w in ws if w.owner}


def assessed_as_of(fresh: Freshness) -> dict[Source, date]:
    return {source: day for source, day in fresh.as_of.items() if source in ASSESSED}


def stale_months(
    before: Mapping[Source, date], now: Mapping[Source, date], months: Iterable[date]
) -> set[date]:
    """The months whose answers an as-of day's move can change: those ending after the
    earlier of the two days (every month when a source appears or disappears)."""
    stale: set[date] = set()
    for source in ASSESSED:
        old, new = before.get(source), now.get(source)
        if old == new:
            continue
        since = min(old, new) if old is not None and new is not None else None
        stale.update(m for m in months if since is None or month_end(m) > since)
    return stale


async def batches_now(
    sources: Sources, marks: Marks | None, agencies: Mapping[str, AgencyTables] = AGENCIES
) -> dict[str, tuple[Seen, dict[int, str]]]:
    """Per agency: its batches seen now, and the new ones' tables (number → table)."""
    found: dict[str, tuple[Seen, dict[int, str]]] = {}
    for agency, tables in agencies.items():
        batches = tables.batches
        before = marks.seen.get(agency) if marks is not None else None
        if before is None:
            top = await sources[agency].scalar(
                select(batches.c.id).order_by(batches.c.id.desc()).limit(1)
            )
            recent = await sources[agency].fetch(
                select(batches.c.id).where(batches.c.id > (top or 0) - UNSEEN_KEPT)
            )
            found[agency] = (Seen(0).after([r.id for r in recent]), {})
            continue
        rows = await sources[agency].fetch(
            select(batches.c.id, batches.c.table_name).where(before.condition(batches.c.id))
        )
        found[agency] = (before.after(r.id for r in rows), {r.id: r.table_name for r in rows})
    return found


@dataclass
class Touched:
    """Projects to assess again in every month, and in one month; owners now."""

    projects: set[str] = field(default_factory=set)
    in_month: dict[date, set[str]] = field(default_factory=dict)
    owners: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per owned table: key → its project now."""

    def add(self, project: str, month: date | None) -> None:
        if month is None:
            self.projects.add(project)
        else:
            self.in_month.setdefault(month, set()).add(project)


Owners = Callable[[str, list[str]], Awaitable[dict[str, str]]]
"""The projects the facts kept for some rows of an owned table (`FactsStore.owners`)."""


async def touched(
    sources: Sources, new: Mapping[str, Mapping[int, str]], owners: Owners
) -> Touched:
    """The projects (and months) the new batches' rows name; `owners(table, keys)` gives
    the projects the facts kept for owned rows (to catch a row moved from one)."""
    found = Touched()
    for agency, watched in WATCHED.items():
        written = new.get(agency, {})
        for table in watched:
            batches = [n for n, name in written.items() if name == table.name]
            if not batches:
                continue
            rows = await sources[agency].fetch(table.rows(batches))
            moved: dict[str, str] = {}
            for project, month, key in (tuple(row) for row in rows):
                found.add(project, month)
                if table.owner:
                    moved[key] = project
            if moved:
                found.projects.update((await owners(table.name, list(moved))).values())
                found.owners[table.name] = moved
        if agency == "bank" and (
            batches := [n for n, t in written.items() if t == ALLOCATIONS.name]
        ):
            allocated = await sources[agency].fetch(allocation_rows(batches))
            for project, period in (tuple(row) for row in allocated):
                found.add(project, period)
    return found


def allocation_rows(batches: Collection[int]) -> Select[Any]:
    """(project, period) of the allocations these batches wrote, through their accounts."""
    allocation, account = ALLOCATIONS.table, ACCOUNTS.table
    return (
        select(account.c.project_code, allocation.c.period)
        .join(account, account.c.account_no == allocation.c.account_no)
        .where(allocation.c.batch_id.in_(sorted(batches)))
        .distinct()
    )


def owned_rows(table: str) -> Select[Any]:
    """Every (key, project) of an owned table, in key order (a full rebuild keeps them all)."""
    watched = OWNED[table]
    columns = watched.importable.table.c
    assert watched.owner is not None
    return select(columns[watched.owner], columns[watched.project]).order_by(columns[watched.owner])


def owned_agency(table: str) -> str:
    return OWNED[table].importable.agency
