"""Derived answers follow the data: after the bank sends the payroll it had not sent, the
workers it pays leave the "attended but not paid" list and the project's warning follows;
back pay sent in a later payroll counts for the month it belongs to; attendance for a
month the bank's payroll does not reach yet is NO_DATA, not unpaid."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import SEED, RunningHub
from connectors.bank.tables import DISBURSEMENTS
from connectors.housing.tables import ATTENDANCE
from hub_support import Stores, arrears_pay_row, make_stores, running_hub, write
from questions import DASHBOARD, UNPAID_WORKERS, month_of
from synthetic.stories import Stories, stories

PROJECT_MONTH = """query($code: String!, $month: YearMonth!) {
  project(code: $code) { wagePositions(month: $month) { dueFen status worker { idNumber } } } }"""
POSITIONS = """query($id: IdNumber!, $from: YearMonth!, $to: YearMonth!) {
  worker(idNumber: $id) { wagePositions(from: $from, to: $to) { month status paidFen } } }"""


@pytest.fixture(scope="module")
def story() -> Stories:
    return stories(SEED)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, RunningHub]]:
    stores = make_stores(
        request.param, tmp_path_factory.mktemp(request.param), "follows", seeded="demo"
    )
    with running_hub(stores) as hub:
        yield stores, hub


def test_attendance_the_bank_has_not_reached_is_no_data(
    world: tuple[Stores, RunningHub], story: Stories, tmp_path: Path
) -> None:
    stores, hub = world
    worker = story.unpaid_worker_ids[0]
    november = (story.through_month + datetime.timedelta(days=31)).replace(day=1)
    row = (worker, story.arrears_project_code, november, 0b11111, 5)
    assert stores.run(
        "housing", "attendance", write(tmp_path / "a.csv", ATTENDANCE.spec, [row])
    ).applied
    positions = hub.data(
        POSITIONS, {"id": worker, "from": month_of(november), "to": month_of(november)}
    )["worker"]["wagePositions"]
    assert [(p["month"], p["status"]) for p in positions] == [(month_of(november), "NO_DATA")]


def test_the_payroll_sent_late_moves_the_answers(
    world: tuple[Stores, RunningHub], story: Stories, tmp_path: Path
) -> None:
    stores, hub = world
    month = month_of(story.through_month)
    unpaid = {p["worker"]["idNumber"] for p in hub.data(
        UNPAID_WORKERS, {"code": story.arrears_project_code, "month": month}
    )["project"]["wagePositions"]}  # fmt: skip
    assert unpaid == set(story.unpaid_worker_ids)
    levels = {
        n["project"]["code"]: n
        for n in hub.data(DASHBOARD, {"month": month})["projectWarnings"]["nodes"]
    }
    assert levels[story.arrears_project_code]["level"] == "RED"

    positions = hub.data(PROJECT_MONTH, {"code": story.arrears_project_code, "month": month})
    due = {p["worker"]["idNumber"]: p["dueFen"] for p in positions["project"]["wagePositions"]}
    short = sum(
        p["status"] in ("UNPAID", "UNDERPAID") for p in positions["project"]["wagePositions"]
    )
    first, *rest = sorted(unpaid)
    late = [
        arrears_pay_row(stores, story, worker, story.through_month, due[worker]) for worker in rest
    ]
    assert stores.run(
        "bank", "disbursements", write(tmp_path / "p.csv", DISBURSEMENTS.spec, late)
    ).applied
    # the first is paid next month, as back pay for this one
    november = (story.through_month + datetime.timedelta(days=31)).replace(day=1)
    back = [arrears_pay_row(stores, story, first, november, due[first], of=story.through_month)]
    result = stores.run(
        "bank", "disbursements", write(tmp_path / "b.csv", DISBURSEMENTS.spec, back)
    )
    assert result.applied, list(result.report.issues())

    still = hub.data(UNPAID_WORKERS, {"code": story.arrears_project_code, "month": month})
    assert still["project"]["wagePositions"] == []
    positions = hub.data(POSITIONS, {"id": first, "from": month, "to": month})["worker"][
        "wagePositions"
    ]
    assert [(p["status"], p["paidFen"]) for p in positions] == [("PAID", due[first])]
    after = {
        n["project"]["code"]: n
        for n in hub.data(DASHBOARD, {"month": month})["projectWarnings"]["nodes"]
    }
    wages = next(
        m
        for m in after[story.arrears_project_code]["measures"]
        if m["measure"] == "WAGES_PAID_MONTHLY"
    )
    left = short - len(unpaid)
    assert wages["satisfied"] is (left == 0)
    if left:
        assert wages["detail"] == f"{left} workers unpaid or underpaid"
    else:
        assert after[story.arrears_project_code]["level"] != "RED"
