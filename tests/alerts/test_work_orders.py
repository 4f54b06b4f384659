"""Subscriptions and work orders through the graph, over HTTP: an agency subscribes its
webhook (only to kinds its grant covers, only to https or a loopback receiver) and sees
only its own subscriptions; each warning opened a work order for the responsible agency
at the event's district, which that agency alone lists, acknowledges and resolves with a
note; an overdue order escalates to the city and raises an event there."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from desk_support import browser, person, sign_in
from sqlalchemy import update

from alerts.evaluation import evaluate
from alerts.kinds import Kind
from alerts.models import WorkOrder
from alerts.store import AlertStore, now_utc
from conftest import SEED, ClientCredentials, RunningHub
from hub.wiring import build_alert_store, build_observer
from hub_support import Stores, make_stores, running_hub
from synthetic.stories import stories

SUBSCRIBE = """mutation($input: SubscribeWarningsInput!) {
  subscribeWarnings(input: $input) { secret subscription { id kinds url regionCodePrefix } } }"""
ORDERS = """query($status: [WorkOrderStatus!], $overdue: Boolean) {
  warnings(status: $status, overdue: $overdue, first: 100) {
    totalCount nodes { id kind agency regionCode projectCode status overdue escalations note } } }"""
RESOLVE = """mutation($id: ID!, $note: String!) {
  resolveWarning(id: $id, note: $note) { id status resolvedBy note } }"""
ACKNOWLEDGE = """mutation($id: ID!) { acknowledgeWarning(id: $id) { id status acknowledgedBy } }"""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stores, AlertStore, RunningHub]]:
    stores = make_stores(
        request.param, tmp_path_factory.mktemp(request.param), "alerts_orders", seeded="demo"
    )
    store = build_alert_store(stores.settings)

    async def baseline() -> None:
        connectors = list(stores.connectors.values())
        await evaluate(build_observer(stores.settings, connectors), store)
        for connector in connectors:
            await connector.dispose()

    asyncio.run(baseline())
    with running_hub(stores) as hub:
        yield stores, store, hub
    store.close()


def _as(hub: RunningHub, client_id: str, purpose: str) -> httpx.Client:
    return httpx.Client(
        base_url=hub.url,
        timeout=30,
        auth=ClientCredentials(client_id, hub.secrets[client_id]),
        headers={"X-Purpose": purpose},
    )


def _ask(client: httpx.Client, document: str, **variables: Any) -> dict[str, Any]:
    response = client.post("/graphql", json={"query": document, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


def test_an_agency_subscribes_within_its_grant(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    _, store, hub = world
    with (
        _as(hub, "hr-bureau-xinmi", "supervision") as hr,
        _as(hub, "police-xinmi", "residence-management") as police,
    ):
        made = _ask(
            hr,
            SUBSCRIBE,
            input={
                "kinds": ["PROJECT_WARNING", "WORKER_UNPAID"],
                "url": "https://hr.example/hook",
                "regionCodePrefix": "410183",
            },
        )["data"]["subscribeWarnings"]
        assert made["secret"].startswith("whsec_")
        assert made["subscription"]["regionCodePrefix"] == "410183"
        stored = store.subscription(made["subscription"]["id"])
        assert stored is not None
        assert (stored.client_id, stored.purpose) == ("hr-bureau-xinmi", "supervision")

        refused = _ask(
            police, SUBSCRIBE, input={"kinds": ["PROJECT_WARNING"], "url": "https://p.example/h"}
        )
        assert refused["data"]["subscribeWarnings"] is None
        assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert refused["errors"][0]["extensions"]["missingScopes"] == ["stats:read"]

        plain = _ask(
            police, SUBSCRIBE, input={"kinds": ["RESIDENCE_GAP"], "url": "http://p.example/h"}
        )
        assert plain["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"

        mine = _ask(police, "{ warningSubscriptions { id } }")["data"]["warningSubscriptions"]
        assert mine == []  # the HR bureau's is not the police's
        gone = _ask(
            police,
            "mutation($id: ID!) { unsubscribeWarnings(id: $id) }",
            id=made["subscription"]["id"],
        )
        assert gone["data"]["unsubscribeWarnings"] is False


def test_each_agency_handles_its_own_work_orders(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    _, _, hub = world
    story = stories(SEED)
    with (
        _as(hub, "hr-bureau-xinmi", "supervision") as hr,
        _as(hub, "police-xinmi", "residence-management") as police,
    ):
        hr_orders = _ask(hr, ORDERS, status=["OPEN"])["data"]["warnings"]["nodes"]
        assert {o["agency"] for o in hr_orders} == {"hr"}
        assert all(o["regionCode"].startswith("4101") for o in hr_orders)
        red = next(
            o
            for o in hr_orders
            if o["kind"] == "PROJECT_WARNING" and o["projectCode"] == story.arrears_project_code
        )
        police_orders = _ask(police, ORDERS)["data"]["warnings"]["nodes"]
        assert {o["kind"] for o in police_orders} == {"RESIDENCE_GAP"}
        assert {o["regionCode"] for o in police_orders} == {"410183"}
        assert len(police_orders) == len(story.workers_without_residence)

        assert _ask(police, ACKNOWLEDGE, id=red["id"])["data"]["acknowledgeWarning"] is None
        acknowledged = _ask(hr, ACKNOWLEDGE, id=red["id"])["data"]["acknowledgeWarning"]
        assert acknowledged == {
            "id": red["id"], "status": "ACKNOWLEDGED", "acknowledgedBy": "hr-bureau-xinmi"
        }  # fmt: skip
        note = "已约谈总包单位，限期补发工资"
        resolved = _ask(hr, RESOLVE, id=red["id"], note=note)["data"]["resolveWarning"]
        assert resolved == {
            "id": red["id"], "status": "RESOLVED", "resolvedBy": "hr-bureau-xinmi", "note": note
        }  # fmt: skip
        assert red["id"] not in {
            o["id"] for o in _ask(hr, ORDERS, status=["OPEN"])["data"]["warnings"]["nodes"]
        }


def test_an_overdue_order_escalates_to_the_city_and_tells_it(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    _, store, hub = world
    city = store.subscribe(
        "hr-bureau-xinmi", [Kind.WORK_ORDER_ESCALATED], "https://hr.example/city", "supervision"
    )
    table = WorkOrder.__table__  # type: ignore[attr-defined]
    with _as(hub, "police-xinmi", "residence-management") as police:
        order = _ask(police, ORDERS)["data"]["warnings"]["nodes"][0]
        with store.engine.begin() as connection:
            connection.execute(
                update(table)
                .where(table.c.id == int(order["id"]))
                .values(deadline=now_utc() - timedelta(hours=1))
            )
        late = _ask(police, ORDERS, overdue=True)["data"]["warnings"]["nodes"]
        assert [o["id"] for o in late] == [order["id"]]
        assert store.escalate_overdue() >= 1
        # the district's police no longer holds it: it is the city's now
        assert order["id"] not in {
            o["id"] for o in _ask(police, ORDERS)["data"]["warnings"]["nodes"]
        }
    moved = store.order(int(order["id"]))
    assert (moved.region_code, moved.escalations) == ("410100", 1)
    assert moved.deadline > now_utc()
    assert store.escalate_overdue() == 0  # nothing overdue now
    queued = store.deliveries(city.id)
    assert len(queued) == 1  # told to the city's subscriptions (built as each client)
    raised, source = store.event(queued[0].event_id), store.event(moved.event_id)
    assert (raised.kind, raised.region_code, raised.previous) == (
        Kind.WORK_ORDER_ESCALATED.value, "410100", source.region_code
    )  # fmt: skip
    assert (raised.project_code, raised.month) == (source.project_code, source.month)
    assert json.loads(raised.details)["workOrder"] == moved.id


def test_the_desk_dashboard_lists_the_agencys_open_work_orders(
    world: tuple[Stores, AlertStore, RunningHub],
) -> None:
    _, _, hub = world
    story = stories(SEED)
    person(hub, "supervisor-orders", "hr-bureau-xinmi", "supervisor", "李监管")
    with browser(hub) as client:
        sign_in(client, "supervisor-orders", purpose="supervision")
        page = client.get(
            "/desk/dashboard",
            params={"month": f"{story.through_month:%Y-%m}", "region": "410183"},
        )
    assert page.status_code == 200
    assert "待办工单" in page.text
    assert "项目预警等级变化" in page.text  # the kind, as people read it
    assert story.no_account_project_code in page.text
    # Once, in the page's body: not in its <title>, not in the scripts' block.
    assert page.text.count('<section aria-labelledby="orders-heading">') == 1
    assert "<title>三色预警看板 · " in page.text
