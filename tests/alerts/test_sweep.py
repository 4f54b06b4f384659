"""The set-based sweep (`graph.sweep`, what an in-process hub evaluates with) observes
exactly what the per-project rules observe (the graph's own functions, through the
loaders): the same levels with the same failed measures, unpaid workers (one month and
two), residence gaps, blacklist hits and filings — on the demo world on both backends and
on the small synthetic world, in its latest month and the month before. So the events
are the same too: raised from an empty state they are equal, and a sweep after a
per-project evaluation (and again) raises nothing."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from alerts.evaluation import evaluate
from alerts.rules import changes
from alerts.store import AlertStore
from graph.events import Observations, Observer
from hub import seeding
from hub.wiring import build_alert_store, build_cursors, loader_factories
from hub_support import Stores, make_stores

WORLDS = [("sqlite", "demo"), ("postgres", "demo"), ("sqlite", "small")]


@pytest.fixture(scope="module", params=WORLDS, ids=[f"{b}-{s}" for b, s in WORLDS])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, AlertStore]]:
    backend, scale = request.param
    stores = make_stores(backend, tmp_path_factory.mktemp(f"{backend}-{scale}"), "alerts_sweep")
    seeding.seed(list(stores.connectors.values()), scale, 42)
    store = build_alert_store(stores.settings)
    yield stores, store
    store.close()


def observer(stores: Stores, per_project: bool) -> Observer:
    connectors = list(stores.connectors.values())
    return Observer(
        loader_factories(connectors), build_cursors(stores.settings), per_project=per_project
    )


def observe(stores: Stores, per_project: bool, month: datetime.date | None) -> Observations:
    async def once() -> Observations:
        try:
            return await observer(stores, per_project).observe(month, datetime.date(2030, 1, 1))
        finally:
            for connector in stores.connectors.values():
                await connector.dispose()

    return asyncio.run(once())


def comparable(found: Observations) -> dict[str, Any]:
    return {
        "month": found.month,
        "day": found.day,
        "payroll_known": found.payroll_known,
        "districts": sorted(found.districts),
        **{
            name: sorted(getattr(found, name), key=repr)
            for name in ("projects", "unpaid", "gaps", "blacklisted", "filings")
        },
    }


@pytest.fixture(scope="module")
def reference(world: tuple[Stores, AlertStore]) -> Observations:
    """The per-project rules' observations of the latest month."""
    return observe(world[0], True, None)


@pytest.fixture(scope="module")
def swept(world: tuple[Stores, AlertStore]) -> Observations:
    """The sweep's observations of the latest month."""
    return observe(world[0], False, None)


def test_the_sweep_observes_what_the_per_project_rules_observe(
    world: tuple[Stores, AlertStore], reference: Observations, swept: Observations
) -> None:
    stores, _ = world
    latest = reference
    assert comparable(swept) == comparable(latest)
    before = (latest.month - datetime.timedelta(days=1)).replace(day=1)
    assert comparable(observe(stores, False, before)) == comparable(observe(stores, True, before))
    # not vacuous: each kind is there to compare
    assert latest.projects
    assert latest.unpaid
    assert latest.gaps
    assert latest.filings
    assert {p.level for p in latest.projects} >= {"RED", "YELLOW"}
    if stores.settings.data_dir.name.startswith("sqlite-small"):
        assert latest.blacklisted
        assert {u.months for u in latest.unpaid} == {1, 2}


def test_the_same_events_and_none_again(
    world: tuple[Stores, AlertStore], reference: Observations, swept: Observations
) -> None:
    stores, store = world
    per_project = reference

    def raised(found: Observations) -> list[Any]:
        return sorted(changes(found, {}, present=True).events, key=lambda e: e.key)

    assert raised(swept) == raised(per_project)

    async def swept_again() -> int:
        try:
            return (await evaluate(observer(stores, False), store)).events
        finally:
            for connector in stores.connectors.values():
                await connector.dispose()

    assert store.record(per_project).events > 0  # as the per-project evaluation records
    assert asyncio.run(swept_again()) == 0  # nothing changed since
    assert asyncio.run(swept_again()) == 0
