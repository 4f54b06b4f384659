"""Recomputing warning facts with the rule a live answer uses (`compliance.assess`), for
every project under construction or some, over a window of months, and saying which
levels changed (what warning events and notifications are built from). `refresh_changed`
recomputes only the projects and months whose source rows changed since the last refresh
(`graph.facts.changes`); `refresh_changed(..., full=True)` rebuilds every one.

Runs outside any request: a context with a system caller (every scope, no row limit), a
fresh one per chunk of projects so that the loaders' caches stay small at any scale."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Final

from connectors.housing.loaders import HousingLoaders, ProjectFilter
from graph.derived.compliance import UNDER_CONSTRUCTION, _assess_page, fact_detail
from graph.derived.freshness import freshness
from graph.facts import changes
from graph.facts.marks import Marks
from graph.facts.store import Fact, FactsStore
from kernel.caller import Caller
from kernel.context import Info, LoaderFactories, offline_info
from kernel.cursors import Cursors
from kernel.scalars import months_between
from kernel.scopes import vocabulary

CHUNK: Final = 200
"""Projects assessed together (one set of loaders): the size of the dashboard's scans."""
DEFAULT_WINDOW: Final = 12
"""Months refreshed when none are named: this many, up to the latest month any table
covers."""

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LevelChange:
    """A project's level in a month before and after a refresh (`graph.derived.compliance`
    `WarningLevel` values); None: no fact (not under construction, or not started)."""

    project_code: str
    month: date
    before: int | None
    after: int | None


def _info(factories: LoaderFactories, cursors: Cursors) -> Info:
    caller = Caller(client_id="hub-facts", agency="hub", scopes=frozenset(vocabulary()))
    return offline_info(factories, cursors, caller)


async def latest_months(factories: LoaderFactories, window: int = DEFAULT_WINDOW) -> list[date]:
    """`window` months up to the month of the latest as-of day of any agency's table."""
    cursors = Cursors(secrets.token_bytes(32))
    fresh = await freshness(_info(factories, cursors))
    if not fresh.as_of:
        return []
    last = max(fresh.as_of.values()).replace(day=1)
    first = last
    for _ in range(window - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    return months_between(first, last)


async def _projects(info: Info, codes: Collection[str] | None) -> list[Any]:
    """The projects under construction among `codes` (all of them: None), in code order."""
    housing = info.context.loaders(HousingLoaders)
    if codes is not None:
        loaded = await asyncio.gather(*(housing.project.load(code) for code in sorted(codes)))
        return [r for r in loaded if r is not None and r.status == UNDER_CONSTRUCTION]
    found: list[Any] = []
    criteria = ProjectFilter(statuses=(UNDER_CONSTRUCTION,))
    after = None
    while rows := await housing.projects_page(criteria, after, 5_000):
        found.extend(rows)
        after = rows[-1].code
    return found


async def compute(
    factories: LoaderFactories, months: Collection[date], projects: Collection[str] | None = None
) -> list[Fact]:
    """The facts of `projects` (every project under construction: None) in `months`."""
    cursors = Cursors(secrets.token_bytes(32))
    building = await _projects(_info(factories, cursors), projects)
    facts: list[Fact] = []
    for start in range(0, len(building), CHUNK):
        chunk = building[start : start + CHUNK]
        region = {p.code: p.region_code for p in chunk}
        codes = list(region)
        info = _info(factories, cursors)
        for month in sorted(months):
            for c in await _assess_page(info, codes, month):
                facts.append(
                    Fact(
                        c.project_code,
                        month,
                        region[c.project_code],
                        int(c.level),
                        bool(c.no_data_from),
                        fact_detail(c),
                    )
                )
    return facts


async def refresh(
    store: FactsStore,
    factories: LoaderFactories,
    *,
    projects: Collection[str] | None = None,
    months: Collection[date] | None = None,
    window: int | None = None,
) -> list[LevelChange]:
    """Recompute the facts of `projects` (every project: None) in `months` (None: the
    latest `window` months, the store's setting unless given) and store them; the levels
    that changed, by project and month. A full refresh also marks its months covered, so
    the dashboard reads them from here."""
    if months is None:
        chosen = await latest_months(factories, window or store.window)
    else:
        chosen = sorted(months)
    if not chosen:
        return []
    before = await store.levels(chosen, projects)
    facts = await compute(factories, chosen, projects)
    await store.replace(chosen, projects, facts)
    after = {(f.project_code, f.month): f.level for f in facts}
    changes = [
        LevelChange(code, month, before.get((code, month)), after.get((code, month)))
        for code, month in sorted(before.keys() | after.keys())
        if before.get((code, month)) != after.get((code, month))
    ]
    log.debug(  # the callers say what they need of it (`hub facts refresh` prints it)
        "warning facts: %d rows over %d months refreshed, %d levels changed",
        len(facts),
        len(chosen),
        len(changes),
    )
    return changes


@dataclass(frozen=True)
class Plan:
    """What a refresh recomputes: every project in `every` months, and in each other kept
    month the projects named there."""

    every: tuple[date, ...]
    some: dict[date, frozenset[str]]

    @property
    def full(self) -> bool:
        return not self.some


async def kept_months(store: FactsStore, factories: LoaderFactories) -> list[date]:
    """The months the facts keep current: those already covered and the latest window."""
    covered = await store.months()
    return sorted({*covered, *await latest_months(factories, store.window)})


async def refresh_changed(
    store: FactsStore,
    factories: LoaderFactories,
    sources: changes.Sources,
    *,
    full: bool = False,
) -> tuple[Plan, list[LevelChange]]:
    """Bring every kept month up to date, recomputing only what changed since the last
    refresh (everything when `full`, when none is recorded, or when an agency the
    assessment reads is not reachable in process); what was recomputed, and the levels
    that changed."""
    months = await kept_months(store, factories)
    if not months:
        return Plan((), {}), []
    reachable = all(agency in sources for agency in changes.AGENCIES)
    before = None if full or not reachable else await store.marks()
    cursors = Cursors(secrets.token_bytes(32))
    as_of = changes.assessed_as_of(await freshness(_info(factories, cursors)))
    if not reachable:  # nothing to read batches from: rebuild, recording nothing
        return Plan(tuple(months), {}), await refresh(store, factories, months=months)
    seen = await changes.batches_now(sources, before)
    marks = Marks({agency: s for agency, (s, _) in seen.items()}, as_of)
    if before is None:
        # The owners are read after the marks and before the facts: a row moved since
        # the marks is read again by the next refresh, its project then as kept here.
        owned = changes.OWNED
        await store.rebuild_owners(
            {t: (sources[changes.owned_agency(t)], changes.owned_rows(t)) for t in owned}
        )
        changed = await refresh(store, factories, months=months)
        await store.remember(marks, {})
        return Plan(tuple(months), {}), changed
    covered = set(await store.months())
    stale = {m for m in months if m not in covered}
    stale |= changes.stale_months(before.as_of, as_of, months)
    touched = await changes.touched(
        sources, {agency: new for agency, (_, new) in seen.items()}, store.owners
    )
    plan = Plan(
        tuple(sorted(stale)),
        {
            month: frozenset(touched.projects | touched.in_month.get(month, set()))
            for month in months
            if month not in stale
        },
    )
    found: list[LevelChange] = []
    if plan.every:
        found += await refresh(store, factories, months=plan.every)
    by_projects: dict[frozenset[str], list[date]] = {}
    for month, projects in plan.some.items():
        if projects:
            by_projects.setdefault(projects, []).append(month)
    for projects, chosen in by_projects.items():
        found += await refresh(store, factories, months=chosen, projects=projects)
    await store.remember(marks, touched.owners)
    return plan, sorted(found, key=lambda c: (c.project_code, c.month))
