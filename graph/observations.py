"""What one warning evaluation saw: the observations `graph.events` makes (set-based in
`graph.sweep`, or project by project) and `alerts.rules` compares with the last-known
state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from graph.facts.marks import Marks


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


@dataclass(frozen=True)
class Scope:
    """What an evaluation looked at (`graph.scope` decides it after an import): the
    projects whose levels, unpaid workers and filings were observed (None: every
    project), and whether the residence and blacklist rules ran. What it did not look at
    is unchanged since the last evaluation, so the store compares only what it did."""

    projects: frozenset[str] | None = None
    gaps: bool = True
    blacklist: bool = True

    @property
    def everything(self) -> bool:
        return self.projects is None and self.gaps and self.blacklist


EVERYTHING = Scope()


@dataclass(frozen=True)
class Baseline:
    """What an evaluation of the present month saw, kept by the store with its state:
    the agencies' batches and the assessed tables' as-of days, the month, and the day
    residence was judged on. The next evaluation after an import looks again only at
    what the batches since then changed."""

    marks: Marks
    month: date
    day: date


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
    scope: Scope = EVERYTHING
    baseline: Baseline | None = None
    """What this evaluation saw, for the next one to start from (None: it cannot tell,
    an agency being reached over the network)."""
