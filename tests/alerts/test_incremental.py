"""An evaluation after an import (`evaluate(..., after_import=True)`: `graph.scope`) raises
the same events, with the same contents, and leaves the same state as an evaluation that
looks at everything, kept in a second store evaluated beside it — after each kind of
change: a payroll with a failed transfer, attendance, a worker leaving a site, a residence
registration running out, a blacklist entry, a complaint, a moved labour contract, and
nothing — on SQLite and PostgreSQL. And it looks at only what the import touched: the
payroll's project and no residence or blacklist rule; nothing at all when nothing changed."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from alerts.evaluation import evaluate
from alerts.store import AlertStore, event_t, state_t
from conftest import backend_settings
from connectors.bank.tables import DISBURSEMENTS
from connectors.housing.tables import ATTENDANCE, CONTRACTS, PROJECTS, REGISTRATIONS
from connectors.hr.tables import BLACKLIST, COMPLAINTS
from connectors.public_security.tables import RESIDENCES
from graph.events import Observer
from graph.observations import Scope
from hub.wiring import build_alert_store, build_cursors, loader_factories
from hub_support import Stores, import_rows, make_stores, stored_rows
from storage import migrate

TODAY = datetime.date(2030, 1, 1)


@dataclass
class Pair:
    stores: Stores
    incremental: AlertStore
    full: AlertStore
    tmp: Path


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"incremental-{backend}")
    stores = make_stores(backend, tmp, "alerts_incremental", seeded="demo")
    full = build_alert_store(backend_settings(backend, tmp / "full", "alerts_full"))
    migrate.upgrade([full])
    made = Pair(stores, build_alert_store(stores.settings), full, tmp)
    _evaluate(made)  # both from an empty state: every event at once
    yield made
    made.incremental.close()
    made.full.close()


def _run(pair: Pair, work: Any) -> Any:
    async def run() -> Any:
        try:
            return await work
        finally:
            for connector in pair.stores.connectors.values():
                await connector.dispose()

    return asyncio.run(run())


def _observer(pair: Pair) -> Observer:
    connectors = list(pair.stores.connectors.values())
    return Observer(loader_factories(connectors), build_cursors(pair.stores.settings))


def _evaluate(pair: Pair) -> Scope:
    """Both stores evaluated, the incremental one after an import; what it looked at."""
    store = pair.incremental
    found = _run(pair, _observer(pair).observe(None, TODAY, store.baseline()))
    done = store.record(found)
    full = _run(pair, evaluate(_observer(pair), pair.full, today=TODAY))
    assert (done.month, done.events, done.work_orders) == (
        full.month,
        full.events,
        full.work_orders,
    )
    assert _kept(store) == _kept(pair.full)
    return found.scope


_CONTENTS = (
    "key", "kind", "region_code", "project_code", "enterprise_uscc", "month", "level",
    "previous", "details",
)  # fmt: skip


def _kept(store: AlertStore) -> dict[str, Any]:
    """Every event's contents and every state row (neither ids nor times)."""
    with store.engine.connect() as connection:
        events = connection.execute(select(event_t).order_by(event_t.c.key)).all()
        state = connection.execute(select(state_t).order_by(state_t.c.kind, state_t.c.subject))
        return {
            "events": [tuple(e._mapping[name] for name in _CONTENTS) for e in events],
            "state": [
                (s.kind, s.subject, s.value, s.month, s.version, s.project_code) for s in state
            ],
        }


def _events(store: AlertStore) -> int:
    return len(_kept(store)["events"])


def _as_of(pair: Pair, agency: str, table: str) -> datetime.date | None:
    """The table's as-of day as the last evaluation saw it: kept, so that only the rows
    change (a moved as-of day makes the next evaluation whole)."""
    baseline = pair.incremental.baseline()
    assert baseline is not None
    return baseline.marks.as_of.get((agency, table))


def _latest(pair: Pair) -> datetime.date:
    baseline = pair.incremental.baseline()
    assert baseline is not None
    return baseline.month


def test_nothing_changed_looks_at_nothing(pair: Pair) -> None:
    before = _events(pair.incremental)
    assert _evaluate(pair) == Scope(frozenset(), gaps=False, blacklist=False)
    assert _events(pair.incremental) == before
    done = _run(pair, evaluate(_observer(pair), pair.incremental, today=TODAY, after_import=True))
    assert done.events == 0


def test_a_failed_transfer(pair: Pair) -> None:
    month = _latest(pair)
    paid = [
        d
        for d in stored_rows(pair.stores, "bank", DISBURSEMENTS)
        if d["period"] == month and d["status"] == "paid" and not d["is_back_pay"]
    ]
    failed = {**paid[0], "status": "failed"}
    before = _events(pair.incremental)
    as_of = _as_of(pair, "bank", "disbursements")
    import_rows(pair.stores, pair.tmp, DISBURSEMENTS, [failed], as_of=as_of)
    scope = _evaluate(pair)
    assert scope == Scope(frozenset({failed["project_code"]}), gaps=False, blacklist=False)
    assert _events(pair.incremental) > before, "the worker is unpaid now"


def test_attendance(pair: Pair) -> None:
    month = _latest(pair)
    rows = [
        a
        for a in stored_rows(pair.stores, "housing", ATTENDANCE)
        if a["month"] == month and a["day_mask"].bit_count() > 1
    ]
    fewer = [a["day_mask"] & (a["day_mask"] - 1) for a in rows[:5]]  # the first day dropped
    changed = [
        {**a, "day_mask": mask, "days_present": mask.bit_count()}
        for a, mask in zip(rows, fewer, strict=False)
    ]
    import_rows(
        pair.stores, pair.tmp, ATTENDANCE, changed, as_of=_as_of(pair, "housing", "attendance")
    )
    scope = _evaluate(pair)
    assert scope.projects == {a["project_code"] for a in changed}
    assert not scope.gaps


def test_a_worker_leaving_a_site(pair: Pair) -> None:
    open_ = [r for r in stored_rows(pair.stores, "housing", REGISTRATIONS) if not r["exit_date"]]
    left = {**open_[0], "exit_date": open_[0]["entry_date"] + datetime.timedelta(days=1)}
    as_of = _as_of(pair, "housing", "registrations")
    import_rows(pair.stores, pair.tmp, REGISTRATIONS, [left], as_of=as_of)
    scope = _evaluate(pair)
    assert scope.gaps
    assert scope.blacklist
    assert scope.projects == {left["project_code"]}


def test_a_residence_registration_running_out(pair: Pair) -> None:
    baseline = pair.incremental.baseline()
    assert baseline is not None
    day = baseline.day
    on_sites = {
        r["worker_id_number"]
        for r in stored_rows(pair.stores, "housing", REGISTRATIONS)
        if not r["exit_date"]
    }
    valid = [
        r
        for r in stored_rows(pair.stores, "public_security", RESIDENCES)
        if r["status"] == "valid"
        and r["registered_on"] < day <= r["valid_until"]
        and r["id_number"] in on_sites
    ]
    before = _events(pair.incremental)
    expired = [{**r, "valid_until": day - datetime.timedelta(days=1)} for r in valid[:20]]
    import_rows(pair.stores, pair.tmp, RESIDENCES, expired)
    scope = _evaluate(pair)
    assert scope == Scope(frozenset(), gaps=True, blacklist=False)
    assert _events(pair.incremental) > before, "the workers on a site are told of"


def test_a_blacklist_entry(pair: Pair) -> None:
    project = stored_rows(pair.stores, "housing", PROJECTS)[0]
    entry = stored_rows(pair.stores, "hr", BLACKLIST)[0]
    listed = {
        **entry,
        "decision_no": f"{entry['decision_no']}-incremental",
        "enterprise_uscc": project["builder_uscc"],
        "listed_on": datetime.date(2000, 1, 1),
        "removed_on": None,
    }
    import_rows(pair.stores, pair.tmp, BLACKLIST, [listed])
    scope = _evaluate(pair)
    assert scope == Scope(frozenset(), gaps=False, blacklist=True)


def test_a_complaint_looks_at_everything(pair: Pair) -> None:
    complaint = stored_rows(pair.stores, "hr", COMPLAINTS)[0]
    filed = {**complaint, "amount_fen": complaint["amount_fen"] + 1}
    import_rows(pair.stores, pair.tmp, COMPLAINTS, [filed])
    assert _evaluate(pair).everything


def test_a_moved_contract_looks_at_everything(pair: Pair) -> None:
    contracts = stored_rows(pair.stores, "housing", CONTRACTS)
    projects = sorted({c["project_code"] for c in contracts})
    moved = contracts[0]
    joined = next(p for p in projects if p != moved["project_code"])
    as_of = _as_of(pair, "housing", "contracts")
    import_rows(pair.stores, pair.tmp, CONTRACTS, [{**moved, "project_code": joined}], as_of=as_of)
    assert _evaluate(pair).everything


def test_a_whole_evaluation_after_them_raises_nothing(pair: Pair) -> None:
    """What the evaluations after each import left is what looking at everything finds."""
    done = _run(pair, evaluate(_observer(pair), pair.incremental, today=TODAY))
    assert done.events == 0
    assert _kept(pair.incremental) == _kept(pair.full)
