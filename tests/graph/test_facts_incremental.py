"""An incremental refresh of the warning facts (`graph.facts.refresh.refresh_changed`)
leaves exactly what a full rebuild leaves, while recomputing only the projects and months
whose rows changed: after a labour contract moves to another project (both projects, no
other), after a wage account moves, after a month's payroll, after a deposit whose as-of
day moves (the months after it, every project), and when nothing changed (nothing)."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from conftest import SEED
from connectors.bank.tables import ACCOUNTS, DISBURSEMENTS
from connectors.housing.tables import CONTRACTS
from connectors.hr.tables import DEPOSITS
from graph.facts.marks import Marks
from graph.facts.refresh import Plan, refresh_changed
from graph.facts.store import warning_fact, warning_fact_owner
from hub.facts import sources
from hub.wiring import loader_factories
from hub_support import Stores, arrears_pay_row, import_rows, make_stores, stored_rows
from synthetic.stories import stories


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def stores(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Stores:
    made = make_stores(
        request.param, tmp_path_factory.mktemp(request.param), "incremental", seeded="demo"
    )
    return made


def _refresh(stores: Stores, *, full: bool = False) -> Plan:
    connectors = list(stores.connectors.values())

    async def run() -> Plan:
        try:
            plan, _ = await refresh_changed(
                stores.facts, loader_factories(connectors), sources(connectors), full=full
            )
            return plan
        finally:
            await stores.facts.database.dispose()
            for connector in connectors:
                await connector.dispose()

    return asyncio.run(run())


def _marks(stores: Stores) -> Marks:
    async def read() -> Marks | None:
        try:
            return await stores.facts.marks()
        finally:
            await stores.facts.database.dispose()

    marks = asyncio.run(read())
    assert marks is not None, "seeding records what its refresh saw"
    return marks


def _facts(stores: Stores) -> dict[str, list[tuple[Any, ...]]]:
    engine = stores.facts.database.sync_engine()
    try:
        with engine.connect() as connection:
            return {
                table.name: sorted(tuple(row) for row in connection.execute(select(table)))
                for table in (warning_fact, warning_fact_owner)
            }
    finally:
        engine.dispose()


def _same_as_full(stores: Stores) -> None:
    incremental = _facts(stores)
    again = _refresh(stores)  # nothing changed since: nothing recomputed
    assert again.some == {m: frozenset() for m in again.some}
    assert _refresh(stores, full=True).full
    assert _facts(stores) == incremental


def _projects(stores: Stores) -> set[str]:
    return {row[1] for row in _facts(stores)["warning_fact"]}


def test_a_moved_contract_recomputes_both_projects(stores: Stores, tmp_path: Path) -> None:
    marks = _marks(stores)
    everyone = _projects(stores)
    contracts = stored_rows(stores, "housing", CONTRACTS)
    moved = next(c for c in contracts if c["project_code"] in everyone)
    left = moved["project_code"]
    joined = sorted(everyone - {left})[0]
    import_rows(
        stores,
        tmp_path,
        CONTRACTS,
        [{**moved, "project_code": joined}],
        as_of=marks.as_of["housing", "contracts"],
    )
    plan = _refresh(stores)
    assert plan.every == ()
    assert plan.some
    assert all(p == {left, joined} for p in plan.some.values())
    _same_as_full(stores)


def test_a_moved_account_recomputes_both_projects(stores: Stores, tmp_path: Path) -> None:
    marks = _marks(stores)
    accounts = stored_rows(stores, "bank", ACCOUNTS)
    held = {a["project_code"] for a in accounts}
    without = sorted(_projects(stores) - held)
    if not without:
        pytest.skip("every project has an account in the demo data")
    moved = accounts[0]
    import_rows(
        stores,
        tmp_path,
        ACCOUNTS,
        [{**moved, "project_code": without[0]}],
        as_of=marks.as_of["bank", "accounts"],
    )
    plan = _refresh(stores)
    assert plan.every == ()
    assert all(p == {moved["project_code"], without[0]} for p in plan.some.values())
    _same_as_full(stores)


def test_a_months_payroll_recomputes_that_project_and_month(stores: Stores, tmp_path: Path) -> None:
    story = stories(SEED)
    month = story.through_month.replace(day=1)
    worker = stored_rows(stores, "bank", DISBURSEMENTS)[0]["worker_id_number"]
    row = arrears_pay_row(stores, story, worker, month, 12_345)
    import_rows(
        stores, tmp_path, DISBURSEMENTS, [row], as_of=_marks(stores).as_of["bank", "disbursements"]
    )
    plan = _refresh(stores)
    assert plan.every == ()
    assert plan.some[month] == {story.arrears_project_code}
    assert all(not p for m, p in plan.some.items() if m != month)
    _same_as_full(stores)


def test_a_moved_as_of_day_recomputes_the_months_after_it(stores: Stores, tmp_path: Path) -> None:
    marks = _marks(stores)
    deposit = stored_rows(stores, "hr", DEPOSITS)[0]
    before = marks.as_of["hr", "deposits"]
    later = before + datetime.timedelta(days=40)
    import_rows(stores, tmp_path, DEPOSITS, [{**deposit, "amount_fen": deposit["amount_fen"] + 1}],
            as_of=later)  # fmt: skip
    plan = _refresh(stores)
    assert plan.every
    assert all(m.replace(day=28) > before - datetime.timedelta(days=31) for m in plan.every)
    assert all(p == {deposit["project_code"]} for p in plan.some.values())
    _same_as_full(stores)
