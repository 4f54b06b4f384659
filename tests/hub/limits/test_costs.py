"""Cost counts the expensive parts: a derived aggregate costs the assessments it makes
(`kernel.costs`, declared next to the field), and `_entities` costs its selection once
per representation, so an agency's service refuses what the hub refuses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse
from limits_support import LimitedHub, limited_hub

from conftest import TEST_CLIENT, TEST_PURPOSE, RunningHub, serving
from hub.graph import hub_schema
from hub.limits import Limits
from hub.limits.operation import measure_document
from hub.subgraph_app import create_subgraph_app
from kernel.context import PageLimits
from kernel.costs import REGION_ASSESSMENT

SUMMARY = 'a{i}: warningSummary(month: "2026-10") {{ regionCode red }}'
TEN_SUMMARIES = "{ " + " ".join(SUMMARY.format(i=i) for i in range(10)) + " }"
DASHBOARD = Path(__file__).parents[3] / "web" / "documents" / "dashboard.graphql"
NESTED = (
    "name contracts { signedOn } registrations { trade project { name registrations "
    "{ trade team entryDate exitDate worker { name } } } }"
)
"""Per worker about 2,500: a page of 20 passes the default limit, one of 100 does not."""


def _cost(document: str) -> int:
    [(_, measure)] = measure_document(
        hub_schema([])._schema, parse(document), Limits(), PageLimits()
    )
    return measure.cost


def test_aggregates_cost_the_assessments_they_make() -> None:
    assert _cost(TEN_SUMMARIES) >= 10 * REGION_ASSESSMENT
    assert _cost(DASHBOARD.read_text()) <= Limits().max_cost  # the desk's page still runs


@pytest.fixture(scope="module")
def tight(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LimitedHub]:
    limits = Limits(max_cost=4 * REGION_ASSESSMENT)
    with limited_hub(tmp_path_factory.mktemp("costs"), limits=limits) as running:
        yield running


def test_ten_aliased_summaries_are_refused_where_one_is_answered(tight: LimitedHub) -> None:
    client = tight.client()
    refused = client.post("/graphql", json={"query": TEN_SUMMARIES}).json()
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    one = client.post("/graphql", json={"query": "{ " + SUMMARY.format(i=0) + " }"}).json()
    assert "errors" not in one


@pytest.fixture(scope="module")
def housing(hub: RunningHub) -> Iterator[str]:
    with serving(create_subgraph_app("housing", hub.settings)) as url:
        yield url


def _entities(hub: RunningHub, url: str, representations: list[dict[str, str]]) -> Any:
    response = httpx.post(
        f"{url}/graphql",
        json={
            "query": "query($r: [_Any!]!) { _entities(representations: $r) "
            + f"{{ ... on Worker {{ {NESTED} }} }} }}",
            "variables": {"r": representations},
        },
        headers={"Authorization": f"Bearer {hub.token(TEST_CLIENT)}", "X-Purpose": TEST_PURPOSE},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_a_subgraph_refuses_the_entities_the_hub_refuses_as_a_page(
    hub: RunningHub, housing: str
) -> None:
    at_hub = hub.query(f"{{ workers(first: 100) {{ nodes {{ {NESTED} }} }} }}")
    assert at_hub["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    nodes = hub.data("{ workers(first: 100) { nodes { idNumber } } }")["workers"]["nodes"]
    representations = [{"__typename": "Worker", **node} for node in nodes]
    body = _entities(hub, housing, representations)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
