"""The dashboard read from the warning facts answers exactly what assessing every project
answers: the session's hub (facts refreshed after seeding, as `hub seed` does) beside a
second hub over the same databases whose facts database is empty (never migrated, so it
assesses every project as before), for every demo client, every month the facts cover,
region prefixes from province to district, both orders, level filters and every page;
then again after an import that changes a project's level.

The assessing hub answers each client's sweep once per test process, on the first backend
swept: the two backends' seeded worlds are the same (the suite's SEED, facts refreshed as
`hub seed` does), so the other backend's facts hub is held to those answers. Assessing
takes a PostgreSQL hub three times the facts' time a request; each backend's assessing hub
still answers the sweep after an import below."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import functools
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from conftest import SEED, TEST_CLIENT, ClientCredentials, RunningHub, serving
from connectors.bank.tables import DISBURSEMENTS
from graph.facts.store import RED, warning_fact
from hub.app import create_app
from hub.demo import DEMO_GRANTS
from hub.settings import DatabasePolicy
from hub.wiring import build_cursors
from hub_support import Stores, arrears_pay_row, make_stores, running_hub, write
from kernel.cursors import Cursors
from storage.database import Database
from synthetic.stories import stories

PAGE = """query($month: YearMonth!, $prefix: RegionCodePrefix, $level: [WarningLevel!],
  $order: WarningOrder!, $after: String) {
  projectWarnings(month: $month, regionCodePrefix: $prefix, level: $level, orderBy: $order,
    first: 3, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { month level wagesDueFen wagesPaidFen allocatedFen noDataFrom
      project { code } measures { measure satisfied severity detail label } } } } }"""
COUNTS = """query($month: YearMonth!, $prefix: RegionCodePrefix) {
  warningSummary(month: $month, regionCodePrefix: $prefix) {
    regionCode regionName none blue yellow red noData total }
  province: warningRollup(month: $month, regionCodePrefix: $prefix, level: PROVINCE) {
    regionCode none blue yellow red noData total }
  city: warningRollup(month: $month, regionCodePrefix: $prefix, level: CITY) {
    regionCode none blue yellow red noData total } }"""
PROJECT_MONTH = """query($code: String!, $month: YearMonth!) {
  project(code: $code) { wagePositions(month: $month) { dueFen status worker { idNumber } } } }"""
PREFIXES = [None, "41", "4101", "410183"]


Answers = dict[tuple[str, str, str], dict[str, Any]]
"""What the assessing hub answered: (client id, document, variables as JSON) → answer, its
cursors opened (each backend's hub seals them under a key of its own)."""
WHERE = "Query.projectWarnings"


def _opened(value: Any, cursors: Cursors) -> Any:
    """`value` with every cursor opened to the key it was sealed from: equal keys are equal
    cursors under one hub's key (AES-SIV is deterministic), and a cursor the hub did not
    issue for this list fails to open."""
    if isinstance(value, list):
        return [_opened(item, cursors) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        name: cursors.open(item, WHERE)
        if name in ("cursor", "endCursor", "after") and isinstance(item, str)
        else _opened(item, cursors)
        for name, item in value.items()
    }


class Pair:
    """The same client on both hubs. `assessed` makes the client of the assessing hub when
    first needed: an answer already in `kept` is not asked again."""

    def __init__(
        self,
        client_id: str,
        facts: httpx.Client,
        assessed: Callable[[], httpx.Client],
        cursors: Cursors,
        kept: Answers | None = None,
    ) -> None:
        self.client_id, self.facts, self._assessed = client_id, facts, assessed
        self.cursors = cursors
        self.kept: Answers = {} if kept is None else kept

    @functools.cached_property
    def assessed(self) -> httpx.Client:
        return self._assessed()

    def same(self, document: str, variables: dict[str, Any]) -> dict[str, Any]:
        """The facts hub's answer, once checked against the assessing hub's."""
        body = {"query": document, "variables": variables}
        got = _comparable(self.facts.post("/graphql", json=body))
        asked = _opened(variables, self.cursors)
        key = (self.client_id, document, json.dumps(asked, sort_keys=True))
        if key not in self.kept:
            assessed = _comparable(self.assessed.post("/graphql", json=body))
            self.kept[key] = _opened(assessed, self.cursors)
        assert _opened(got, self.cursors) == self.kept[key], variables
        return got


def _comparable(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    errors = [(e["message"], e.get("extensions", {}).get("code")) for e in body.get("errors", [])]
    return {"data": body.get("data"), "errors": errors}


@contextlib.contextmanager
def _assessing(hub: RunningHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second hub over the same databases but an empty facts database."""
    empty = tmp_path_factory.mktemp("nofacts") / "facts.db"
    urls = {**hub.settings.db_urls, "facts": f"sqlite:///{empty}"}
    few = DatabasePolicy(pool_size=1, max_overflow=1)  # a shared PostgreSQL server
    app = create_app(hub.settings.model_copy(update={"db_urls": urls, "db": few}))
    with serving(app, hub.settings.limits) as url:
        yield url


@contextlib.contextmanager
def _pair(
    hub: RunningHub, url: Callable[[], str], client_id: str, kept: Answers | None = None
) -> Iterator[Pair]:
    """`url`: the assessing hub's, asked for when an answer is not in `kept`."""
    facts = hub.as_client(client_id, "testing" if client_id == TEST_CLIENT else None)
    with contextlib.ExitStack() as stack:

        def assessed() -> httpx.Client:
            return stack.enter_context(
                httpx.Client(
                    base_url=url(),
                    timeout=30,
                    auth=ClientCredentials(client_id, hub.secrets[client_id]),
                    headers={"X-Purpose": facts.headers["X-Purpose"]},
                )
            )

        yield Pair(client_id, facts, assessed, build_cursors(hub.settings), kept)


def _covered(hub: RunningHub) -> list[str]:
    store = create_app(hub.settings).state.facts_store

    async def months_covered() -> list[datetime.date]:
        try:
            return await store.months()
        finally:
            await store.database.dispose()

    months = asyncio.run(months_covered())
    assert months, "the session's hub has no warning facts"
    return [m.strftime("%Y-%m") for m in months]


def _walk(pair: Pair, variables: dict[str, Any]) -> list[str]:
    """Every page; the project codes in order."""
    codes: list[str] = []
    after = None
    while True:
        answer = pair.same(PAGE, {**variables, "after": after})
        page = (answer["data"] or {}).get("projectWarnings")
        if page is None:
            return codes
        codes += [e["node"]["project"]["code"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert len(codes) == page["totalCount"]
            return codes
        after = page["pageInfo"]["endCursor"]


def _sweep(pair: Pair, months: list[str], pages: list[str]) -> int:
    listed = 0
    for month in months:
        for prefix in PREFIXES:
            pair.same(COUNTS, {"month": month, "prefix": prefix})
            if month not in pages:
                continue
            for order in ("CODE", "SEVERITY"):
                for level in (None, ["RED", "YELLOW"], ["NONE"]):
                    variables = {"month": month, "prefix": prefix, "level": level, "order": order}
                    listed += len(_walk(pair, variables))
    return listed


@pytest.fixture(scope="module")
def assessed_once() -> Answers:
    """The assessing hub's answers to the sweep below, kept for the other backend."""
    return {}


def test_every_client_reads_from_the_facts_what_assessing_answers(
    hub: RunningHub, tmp_path_factory: pytest.TempPathFactory, assessed_once: Answers
) -> None:
    months = _covered(hub)
    with contextlib.ExitStack() as stack:

        @functools.cache
        def url() -> str:  # this backend's assessing hub, if an answer is not kept
            return stack.enter_context(_assessing(hub, tmp_path_factory))

        with _pair(hub, url, TEST_CLIENT, assessed_once) as pair:
            assert _sweep(pair, months, [months[0], months[len(months) // 2], months[-1]]) > 0
        for grant in DEMO_GRANTS:
            with _pair(hub, url, grant.client_id, assessed_once) as pair:
                _sweep(pair, months[-1:], months[-1:])


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, RunningHub, str]]:
    """A private world (the import changes it): its hub, and the assessing hub's URL."""
    stores = make_stores(
        request.param, tmp_path_factory.mktemp(request.param), "facts", seeded="demo"
    )
    with running_hub(stores) as hub, _assessing(hub, tmp_path_factory) as url:
        yield stores, hub, url


def test_after_an_import_the_facts_follow(
    world: tuple[Stores, RunningHub, str], tmp_path: Path
) -> None:
    """The bank sends the payroll it had not sent for the arrears project's unpaid
    workers: the project leaves RED in the facts as in a live assessment."""
    stores, hub, url = world
    story = stories(SEED)
    month = story.through_month.strftime("%Y-%m")
    code = story.arrears_project_code
    red = {"month": month, "prefix": code[:6], "level": ["RED"], "order": "CODE"}
    with _pair(hub, lambda: url, TEST_CLIENT) as pair:
        assert code in _walk(pair, red)
    positions = hub.data(PROJECT_MONTH, {"code": code, "month": month})["project"]
    late = [
        arrears_pay_row(
            stores, story, p["worker"]["idNumber"], story.through_month, p["dueFen"] or 0
        )
        for p in positions["wagePositions"]
        if p["status"] in ("UNPAID", "UNDERPAID")
    ]
    assert late
    path = write(tmp_path / "p.csv", DISBURSEMENTS.spec, late)
    assert stores.run("bank", "disbursements", path).applied
    with _pair(hub, lambda: url, TEST_CLIENT) as pair:
        assert code not in _walk(pair, red)
        _sweep(pair, [month], [month])


def test_the_facts_hub_reads_the_facts(world: tuple[Stores, RunningHub, str]) -> None:
    """The comparisons above would hold if both hubs assessed: a fact changed by hand
    changes the facts hub's answer and not the assessing one's."""
    _, hub, url = world
    story = stories(SEED)
    month, code = story.through_month.replace(day=1), story.blue_project_code
    blue = {
        "month": month.strftime("%Y-%m"),
        "prefix": code[:6],
        "level": ["BLUE"],
        "order": "CODE",
    }
    facts = Database(hub.settings.facts_db_url, pool_size=1, max_overflow=0)
    row = (warning_fact.c.month == month) & (warning_fact.c.project_code == code)
    engine = facts.sync_engine()
    try:
        with engine.begin() as connection:
            level = connection.execute(select(warning_fact.c.level).where(row)).scalar_one()
            connection.execute(update(warning_fact).where(row).values(level=RED))
        with _pair(hub, lambda: url, TEST_CLIENT) as pair:
            variables = {**blue, "after": None}
            listed = [
                [
                    e["node"]["project"]["code"]
                    for e in _comparable(
                        client.post("/graphql", json={"query": PAGE, "variables": variables})
                    )["data"]["projectWarnings"]["edges"]
                ]
                for client in (pair.facts, pair.assessed)
            ]
        assert code not in listed[0]
        assert code in listed[1]
    finally:
        with engine.begin() as connection:
            connection.execute(update(warning_fact).where(row).values(level=level))
        engine.dispose()
