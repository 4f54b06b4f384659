"""The synthetic world every connector seeds its tables from: one set of facts, five views.

Facts (`facts.py`) are frozen dataclasses that know nothing of the agencies' tables; each
connector's `seed.py` turns them into its own rows. `generate()` streams the world in
batches: batch 0 holds the reference data (`reference.py`: enterprises with their credit,
projects with their account, deposit and insurance, the blacklist) and the planted stories
(`stories.py` for their keys, `planting.py` and `story_workers.py` for their facts); each
later batch holds the workers of a run of projects with everything that hangs off them
(`workforce.py`: employments, attendance, payroll, residence, certificates, cards,
allocations; `disputes.py`: complaints and dispute cases). A project's workers all fall in
one batch, so its allocations follow its actual payroll without holding other batches.
Batch k draws from `random.Random(f"{seed}:{k}")`; ID numbers come from a bijection of the
worker's serial (`documents.py`), so batches never collide and memory stays bounded at any
scale.

Money is integer fen; months are the 1st of the month. Most projects comply; a fraction
have lapses (no rights-notice board, no payment guarantee, no wage special account, no
deposit, workers without contracts, months without allocation, arrears) and about 15% of
workers hold no current temporary residence registration.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from sqlalchemy import Table, inspect
from sqlmodel import SQLModel

from synthetic.disputes import Docket
from synthetic.facts import (
    SCALES,
    Allocation,
    BlacklistEntry,
    Certificate,
    Complaint,
    Contract,
    DisputeCase,
    Employment,
    Enterprise,
    InjuryInsurance,
    Judgment,
    Mediation,
    Party,
    Payment,
    PayrollCard,
    Project,
    Residence,
    Scale,
    WageAccount,
    WageDeposit,
    Worker,
    WorkMonth,
    WorldBatch,
)
from synthetic.months import calendar, last_day
from synthetic.planting import Planting
from synthetic.reference import (
    latest_grading,
    make_blacklist,
    make_enterprises,
    make_projects,
    worker_runs,
)
from synthetic.stories import DEFAULT_THROUGH_MONTH, stories
from synthetic.workforce import Grievance, Workforce

__all__ = [
    "DEFAULT_THROUGH_MONTH",
    "SCALES",
    "Allocation",
    "BlacklistEntry",
    "Certificate",
    "Complaint",
    "Contract",
    "DisputeCase",
    "Employment",
    "Enterprise",
    "InjuryInsurance",
    "Judgment",
    "Mediation",
    "Party",
    "Payment",
    "PayrollCard",
    "Project",
    "Residence",
    "Scale",
    "WageAccount",
    "WageDeposit",
    "WorkMonth",
    "Worker",
    "WorldBatch",
    "generate",
    "seed_table",
]


def generate(
    scale: str,
    seed: int,
    through_month: date = DEFAULT_THROUGH_MONTH,
    batch_size: int = 5000,
) -> Iterator[WorldBatch]:
    """The world at `scale`, batch by batch, identical for identical arguments."""
    if scale not in SCALES:
        raise ValueError(f"scale {scale!r}: expected one of {', '.join(SCALES)}")
    if through_month.day != 1:
        raise ValueError(f"through month {through_month}: expected the 1st of a month")
    world = _World(SCALES[scale], seed, through_month, batch_size)
    yield world.first_batch
    serial = 0
    for index, run in enumerate(world.runs, start=1):
        batch = world.worker_batch(index, run, serial)
        serial += len(batch.workers)
        yield batch


def seed_table(model: type[SQLModel]) -> Table:
    """The table of a SQLModel class, typed (mypy cannot see the `__table__` attribute)."""
    table = inspect(model).local_table
    assert isinstance(table, Table)
    return table


class _World:
    """The reference data of one world, and the factory of its worker batches.

    Each part draws from its own `random.Random`: the pools of names, addresses, day masks
    and the identity space from "{seed}:shared", the stories from "{seed}:0:stories", the
    rest of batch 0 from "{seed}:0" and batch k from "{seed}:{k}".
    """

    def __init__(self, scale: Scale, seed: int, through_month: date, batch_size: int) -> None:
        self.seed = seed
        months = calendar(through_month, scale.months)
        graded_on = latest_grading(through_month)

        keys = stories(seed, through_month)
        story_rng = random.Random(f"{seed}:0:stories")
        firsts = tuple(month.first for month in months)
        self.first_batch = planted = Planting(keys, story_rng, graded_on, firsts).plant()
        rng = random.Random(f"{seed}:0")
        enterprises = make_enterprises(rng, scale.enterprises - len(planted.enterprises), graded_on)
        by_kind: defaultdict[str, list[Enterprise]] = defaultdict(list)
        for enterprise in enterprises:
            by_kind[enterprise.kind].append(enterprise)
        taken = {project.code for project in planted.projects}
        projects = make_projects(
            rng,
            scale.projects - len(planted.projects),
            by_kind,
            taken,
            through_month,
            months[0].first,
        )
        blacklist = make_blacklist(rng, enterprises, last_day(through_month))
        self.workers_total = scale.workers - len(planted.workers)
        self.cases_total = scale.cases - len(planted.cases)
        self.runs = worker_runs(rng, projects, self.workers_total, batch_size)
        self.workforce = Workforce(
            random.Random(f"{seed}:shared"),
            scale.workers,
            months,
            labour=[e.uscc for e in by_kind["labour_subcontractor"]],
            completed=[p for p in projects if p.status == "completed"],
        )
        self.docket = Docket(
            months,
            self.workforce.identities,
            {e.uscc: e.name for e in (*planted.enterprises, *enterprises)},
        )
        planted.enterprises.extend(enterprises)
        planted.projects.extend(projects)
        planted.blacklist.extend(blacklist)

    def worker_batch(
        self, index: int, run: list[tuple[Project, int]], first_serial: int
    ) -> WorldBatch:
        """Batch `index`: the workers of `run`'s projects, their allocations and disputes."""
        rng = random.Random(f"{self.seed}:{index}")
        batch = WorldBatch(index=index, months=self.first_batch.months)
        grievances: list[Grievance] = []
        serial = first_serial
        for project, headcount in run:
            site = self.workforce.site(rng, project)
            for _ in range(headcount):
                batch.workers.append(self.workforce.worker(rng, serial, site, grievances))
                serial += 1
            batch.allocations.extend(self.workforce.allocations(rng, site))
            batch.complaints.extend(self.docket.complaints(rng, site))
        projects = {project.code: project for project, _ in run}
        first_case = first_serial * self.cases_total // self.workers_total
        last_case = serial * self.cases_total // self.workers_total
        for sequence in range(first_case, last_case):
            case = self.docket.case(rng, batch.workers, projects, grievances, sequence)
            if case is not None:
                batch.cases.append(case)
        return batch
