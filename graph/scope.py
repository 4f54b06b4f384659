"""What a warning evaluation after an import looks at again (`graph.sweep`), from the
batches written since the last evaluation of the present month (`Baseline`), found as
the warning facts find theirs (`graph.facts.changes`):

- levels, unpaid workers and filings: the projects the new rows name (in any month, the
  month evaluated, or the month before it, which decides "two months unpaid");
- residence gaps: again in full when registrations, projects or residence registrations
  changed, else not at all;
- blacklist hits: again in full when the blacklist, enterprises, registrations or
  projects changed, else not at all.

Everything is looked at again when there is no baseline, or it is of another month or
day, an assessed table's as-of day moved, a complaint or case was filed (a red project
the evaluation would not look at may have one), or a labour contract or wage account was
written: one can move to another project, and unlike the facts the warnings store does
not keep the project each was on, so the project it left is not known.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from connectors.bank.tables import ACCOUNTS
from connectors.bank.tables import TABLES as BANK
from connectors.court.tables import CASES
from connectors.court.tables import TABLES as COURT
from connectors.housing.tables import CONTRACTS, ENTERPRISES, PROJECTS, REGISTRATIONS
from connectors.housing.tables import TABLES as HOUSING
from connectors.hr.tables import BLACKLIST, COMPLAINTS
from connectors.hr.tables import TABLES as HR
from connectors.public_security.tables import RESIDENCES
from connectors.public_security.tables import TABLES as POLICE
from graph.derived.freshness import Freshness
from graph.facts import changes
from graph.facts.marks import Marks, Source
from graph.observations import EVERYTHING, Baseline, Scope
from ingest.targets import AgencyTables, Importable

AGENCIES: Final[dict[str, AgencyTables]] = {t.agency: t for t in (HOUSING, BANK, HR, POLICE, COURT)}
"""The agencies an evaluation reads."""


def _sources(*tables: Importable) -> frozenset[Source]:
    return frozenset((t.agency, t.name) for t in tables)


GAPS: Final = _sources(REGISTRATIONS, PROJECTS, RESIDENCES)
BLACKLISTED: Final = _sources(BLACKLIST, ENTERPRISES, REGISTRATIONS, PROJECTS)
EVERY_PROJECT: Final = _sources(COMPLAINTS, CASES, CONTRACTS, ACCOUNTS)


async def scope(
    sources: changes.Sources,
    since: Baseline | None,
    fresh: Freshness,
    month: date,
    day: date,
    before: date,
) -> tuple[Scope, Baseline]:
    """What to look at in `month` (`before`: the month before it), and what is seen now
    for the next evaluation. Read before the evaluation reads any row: a batch committed
    meanwhile is read again by the next one."""
    as_of = changes.assessed_as_of(fresh)
    marks = since.marks if since is not None else None
    seen = await changes.batches_now(sources, marks, AGENCIES)
    now = Baseline(Marks({agency: s for agency, (s, _) in seen.items()}, as_of), month, day)
    if since is None or (since.month, since.day, since.marks.as_of) != (month, day, as_of):
        return EVERYTHING, now
    if set(AGENCIES) - set(since.marks.seen):  # an agency it did not read batches from
        return EVERYTHING, now
    new = {agency: written for agency, (_, written) in seen.items()}
    written = {(agency, table) for agency, tables in new.items() for table in tables.values()}
    if written & EVERY_PROJECT:
        return EVERYTHING, now
    touched = await changes.touched(sources, new, _never)
    projects = touched.projects | touched.in_month.get(month, set())
    projects |= touched.in_month.get(before, set())
    return Scope(frozenset(projects), bool(written & GAPS), bool(written & BLACKLISTED)), now


async def _never(table: str, keys: list[str]) -> dict[str, str]:
    """Owned tables' writes make the evaluation whole (`EVERY_PROJECT`) before this."""
    raise AssertionError(f"{table}: a written row that can move projects was not caught")
