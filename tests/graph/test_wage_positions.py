"""A project's month's positions asked for some statuses (`ProjectMonth.positions(wanted)`,
which passes over workers before their contract is looked up) are exactly its positions
with those statuses, in the same order, for every set of statuses."""

from __future__ import annotations

import itertools
import random
from datetime import date
from types import SimpleNamespace

import pytest

from graph.derived.wages import PAID, PaymentStatus, ProjectMonth

MONTH = date(2026, 9, 1)
CODE = "P-1"


def _month(seed: int, payroll_known: bool) -> ProjectMonth:
    """Workers registered or not, present or not, paid nothing, part or all of what was
    due, for this or another month or project, with and without a contract in force."""
    pick = random.Random(seed)
    registrations, attendance, contracts, disbursements = [], [], [], []
    for number in range(40):
        worker = f"W{number:03d}"
        if pick.random() < 0.8:
            entry = date(2026, pick.choice([1, 8, 10]), 1)
            left = pick.choice([None, date(2026, 8, 15), date(2026, 9, 20)])
            registrations.append(SimpleNamespace(worker_id_number=worker, entry_date=entry,
                                                 exit_date=left))  # fmt: skip
        days = pick.choice([0, 0, 5, 20])
        if days or pick.random() < 0.2:
            attendance.append(SimpleNamespace(worker_id_number=worker, days_present=days))
        for signed in range(pick.choice([0, 1, 2])):
            contracts.append(SimpleNamespace(
                worker_id_number=worker, project_code=pick.choice([CODE, CODE, "P-2"]),
                signed_on=date(2026, 1 + signed, 1), start_date=date(2026, 1 + signed, 1),
                end_date=pick.choice([None, date(2026, 8, 31)]),
                daily_wage_fen=pick.choice([30000, 35000]),
            ))  # fmt: skip
        for _ in range(pick.choice([0, 0, 1, 2])):
            disbursements.append(SimpleNamespace(
                worker_id_number=worker, project_code=pick.choice([CODE, CODE, "P-2"]),
                period=pick.choice([MONTH, MONTH, date(2026, 8, 1)]),
                status=pick.choice([PAID, PAID, "returned"]),
                amount_fen=pick.choice([100000, 700000]),
            ))  # fmt: skip
    return ProjectMonth(CODE, MONTH, registrations, attendance, contracts, disbursements,
                        payroll_known)  # fmt: skip


@pytest.mark.parametrize("payroll_known", [True, False])
@pytest.mark.parametrize("seed", range(5))
def test_wanted_statuses_are_a_filter_of_every_position(seed: int, payroll_known: bool) -> None:
    project_month = _month(seed, payroll_known)
    every = project_month.positions()
    assert len({p.status for p in every}) >= (3 if payroll_known else 1)
    for size in range(len(PaymentStatus) + 1):
        for wanted in itertools.combinations(PaymentStatus, size):
            expected = [p for p in every if p.status in wanted]
            assert project_month.positions(set(wanted)) == expected, wanted
