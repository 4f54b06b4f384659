"""Events follow the data: the first evaluation of the demo world raises what its stories
plant (the red project, its five unpaid workers, the three residence gaps of 新密市, the
dispute case against the red project), a second raises nothing, and paying the workers
late moves the project's level (an event with the previous level) and clears their state.
The rules themselves (two months unpaid, back to blue, older months) on plain data."""

from __future__ import annotations

import asyncio
import datetime
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text

from alerts.evaluation import Evaluations, evaluate
from alerts.kinds import Kind
from alerts.models import AlertEvent, AlertState
from alerts.rules import State, changes
from alerts.store import AlertStore, Evaluated
from conftest import SEED
from connectors.bank.tables import DISBURSEMENTS
from graph.events import Observations, ProjectLevel, Unpaid
from hub.wiring import build_alert_store, build_observer
from hub_support import Stores, make_stores, write
from synthetic.stories import Stories, stories

OCTOBER = datetime.date(2026, 10, 1)


@pytest.fixture(scope="module")
def story() -> Stories:
    return stories(SEED)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, AlertStore]]:
    stores = make_stores(
        request.param, tmp_path_factory.mktemp(request.param), "alerts_events", seeded="demo"
    )
    store = build_alert_store(stores.settings)
    yield stores, store
    store.close()


def run(stores: Stores, store: AlertStore, month: datetime.date | None = None) -> Evaluated:
    async def once() -> Evaluated:
        connectors = list(stores.connectors.values())
        try:
            return await evaluate(build_observer(stores.settings, connectors), store, month)
        finally:
            for connector in connectors:
                await connector.dispose()

    return asyncio.run(once())


def events(store: AlertStore, kind: Kind) -> list[Any]:
    table = AlertEvent.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        return list(
            connection.execute(
                select(table).where(table.c.kind == kind.value).order_by(table.c.id)
            ).all()
        )


def test_the_first_evaluation_raises_what_the_stories_plant(
    world: tuple[Stores, AlertStore], story: Stories
) -> None:
    stores, store = world
    done = run(stores, store)
    assert done.month == story.through_month
    assert done.events == done.work_orders > 0

    levels = {e.project_code: e for e in events(store, Kind.PROJECT_WARNING)}
    red = levels[story.arrears_project_code]
    assert (red.level, red.previous) == ("RED", None)
    assert "WAGES_PAID_MONTHLY" in json.loads(red.details)["failed"]
    assert levels[story.no_account_project_code].level == "YELLOW"
    assert levels[story.blue_project_code].level == "BLUE"
    assert story.compliant_project_code not in levels  # NONE at first sight: nothing to say

    unpaid = [
        json.loads(e.details)
        for e in events(store, Kind.WORKER_UNPAID)
        if e.project_code == story.arrears_project_code
    ]
    assert {u["idNumber"] for u in unpaid} == set(story.unpaid_worker_ids)
    assert {u["months"] for u in unpaid} == {1}

    gaps = [json.loads(e.details) for e in events(store, Kind.RESIDENCE_GAP)]
    in_xinmi = {g["idNumber"] for g in gaps if g["district"] == "410183"}
    assert in_xinmi == set(story.workers_without_residence)

    filings = [json.loads(e.details) for e in events(store, Kind.COMPLAINT_ON_RED_PROJECT)]
    assert {(f["code"], f["number"]) for f in filings} == {
        (story.arrears_project_code, story.dispute_case_number)
    }


def test_evaluating_again_raises_nothing(world: tuple[Stores, AlertStore]) -> None:
    stores, store = world
    run(stores, store)  # the module's first evaluation may not have run alone
    assert store.latest_event() > 0  # there was something to raise again
    again = run(stores, store)
    assert (again.events, again.deliveries, again.work_orders) == (0, 0, 0)


def _pay_row(stores: Stores, project: str, worker: str, month: datetime.date) -> tuple[Any, ...]:
    engine = stores.connectors["bank"].database.sync_engine()
    try:
        with engine.connect() as connection:
            account = connection.execute(
                text("SELECT account_no FROM bank_wage_account WHERE project_code = :c"),
                {"c": project},
            ).scalar_one()
            card = connection.execute(
                text("SELECT card_no FROM bank_payroll_card WHERE worker_id_number = :w"),
                {"w": worker},
            ).scalar_one()
    finally:
        engine.dispose()
    return (
        account, project, None, worker, card, month, month.replace(day=28), None, 900_000,
        "paid", None, False, None, None,
    )  # fmt: skip


def test_late_pay_moves_the_level_and_clears_the_unpaid(
    world: tuple[Stores, AlertStore], story: Stories, tmp_path: Path
) -> None:
    stores, store = world
    run(stores, store)
    month = story.through_month
    rows = [_pay_row(stores, story.arrears_project_code, w, month) for w in story.unpaid_worker_ids]
    assert stores.run(
        "bank", "disbursements", write(tmp_path / "late.csv", DISBURSEMENTS.spec, rows)
    ).applied
    done = run(stores, store)
    assert done.events >= 1
    changed = events(store, Kind.PROJECT_WARNING)[-1]
    assert changed.project_code == story.arrears_project_code
    assert changed.previous == "RED"
    assert changed.level != "RED"
    state = AlertState.__table__  # type: ignore[attr-defined]
    with store.engine.connect() as connection:
        left = connection.execute(select(state.c.subject).where(state.c.kind == "unpaid")).scalars()
        assert not any(story.arrears_project_code in subject for subject in left)


# -- the rules on plain data ------------------------------------------------------------


def _observed(month: datetime.date, level: str = "RED", months: int = 1) -> Observations:
    found = Observations(month=month, day=month, payroll_known=True)
    found.projects.append(ProjectLevel("P1", "410183", level, ("WAGES_PAID_MONTHLY",), ()))
    found.unpaid.append(Unpaid("W1", "P1", "410183", 20, months))
    return found


def _apply(state: dict[tuple[str, str], State], found: Observations, present: bool = True):  # type: ignore[no-untyped-def]
    changed = changes(found, state, present=present)
    for kind, subject in changed.deletes:
        state.pop((kind, subject))
    for row in changed.upserts:
        state[(row.kind, row.subject)] = row
    return changed.events


def test_unpaid_is_raised_at_one_month_and_again_at_two() -> None:
    state: dict[tuple[str, str], State] = {}
    september = datetime.date(2026, 9, 1)
    first = _apply(state, _observed(september))
    assert [(e.kind, e.details["months"]) for e in first if e.kind is Kind.WORKER_UNPAID] == [
        (Kind.WORKER_UNPAID, 1)
    ]
    second = _apply(state, _observed(OCTOBER, months=2))
    assert [e.details["months"] for e in second if e.kind is Kind.WORKER_UNPAID] == [2]
    assert _apply(state, _observed(OCTOBER, months=2)) == []


def test_levels_change_both_ways_and_an_older_month_changes_none() -> None:
    state: dict[tuple[str, str], State] = {}
    red = _apply(state, _observed(OCTOBER, "RED"))
    back = _apply(state, _observed(OCTOBER, "BLUE"))
    assert [(e.previous, e.level) for e in back if e.kind is Kind.PROJECT_WARNING] == [
        ("RED", "BLUE")
    ]
    older = _apply(state, _observed(datetime.date(2026, 8, 1), "YELLOW"), present=False)
    assert [e for e in older if e.kind is Kind.PROJECT_WARNING] == []
    moves = [e for e in red + back if e.kind is Kind.PROJECT_WARNING]
    assert len({e.key for e in moves}) == len(moves) == 2  # each change its own key


def test_a_failed_evaluation_logs_the_error_type_not_its_data(
    world: tuple[Stores, AlertStore], caplog: pytest.LogCaptureFixture
) -> None:
    """A database error quotes what it failed on (PostgreSQL: `Key (kind, subject)=(…)`),
    and the rules' subjects hold ID numbers: the log names the error's type only."""
    _, store = world
    subject = "410183199003071234|4101832026010001|2026-10"
    row = {
        "kind": "unpaid",
        "subject": subject,
        "value": "1",
        "updated_at": datetime.datetime.now(datetime.UTC),
    }

    async def failing() -> Evaluated:
        with store.engine.begin() as connection:  # the same state twice: rolled back
            connection.execute(insert(AlertState.__table__), [row, row])  # type: ignore[attr-defined]
        raise AssertionError("the second insert above fails")

    async def once() -> None:
        evaluations = Evaluations(failing)
        running = asyncio.create_task(evaluations.run_forever())
        evaluations.request()
        for _ in range(500):
            if "warning evaluation failed" in caplog.text:
                break
            await asyncio.sleep(0.01)
        running.cancel()

    with caplog.at_level("ERROR", logger="alerts.evaluation"):
        asyncio.run(once())
    assert "warning evaluation failed: IntegrityError" in caplog.text
    assert "410183199003071234" not in caplog.text
