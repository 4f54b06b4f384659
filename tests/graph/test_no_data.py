"""A month an agency has sent nothing for is "no data" for that agency, not a lapse: the
dashboard invents no warning for the month after the data ends, nor for a month before a
project started (1999), and says which agencies' data is missing."""

from __future__ import annotations

import pytest

from conftest import SEED, RunningHub
from questions import month_of
from synthetic.stories import Stories, stories
from synthetic.world import DEFAULT_THROUGH_MONTH

WARNINGS = """query($month: YearMonth!) {
  warningSummary(month: $month, regionCodePrefix: "410183") { none blue yellow red total noData }
  projectWarnings(month: $month, regionCodePrefix: "410183", first: 100) {
    totalCount
    nodes { project { code } level noDataFrom measures { measure satisfied detail } }
  }
}"""


@pytest.fixture(scope="module")
def story() -> Stories:
    return stories(SEED)


def test_the_month_after_the_data_ends_is_no_data_not_a_lapse(hub: RunningHub) -> None:
    after = month_of(DEFAULT_THROUGH_MONTH.replace(month=DEFAULT_THROUGH_MONTH.month + 1))
    data = hub.data(WARNINGS, {"month": after})
    nodes = data["projectWarnings"]["nodes"]
    assert nodes
    for node in nodes:
        assert node["level"] in ("NONE", "BLUE"), node  # only site facts can fail
        assert set(node["noDataFrom"]) >= {"bank", "housing"}
        unassessed = {m["measure"] for m in node["measures"] if m["satisfied"] is None}
        assert {"REAL_NAME_ATTENDANCE", "WAGES_PAID_MONTHLY", "WAGE_SPECIAL_ACCOUNT"} <= unassessed
        attendance = next(m for m in node["measures"] if m["measure"] == "REAL_NAME_ATTENDANCE")
        assert "no data" in attendance["detail"]
    [district] = data["warningSummary"]
    assert district["yellow"] == district["red"] == 0
    assert district["noData"] == district["total"] == len(nodes)


def test_no_warnings_before_a_project_started(hub: RunningHub) -> None:
    data = hub.data(WARNINGS, {"month": "1999-01"})
    assert data["projectWarnings"] == {"totalCount": 0, "nodes": []}
    assert data["warningSummary"] == []


def test_the_last_month_with_data_is_assessed(hub: RunningHub, story: Stories) -> None:
    data = hub.data(WARNINGS, {"month": month_of(story.through_month)})
    levels = {n["project"]["code"]: n for n in data["projectWarnings"]["nodes"]}
    assert levels[story.arrears_project_code]["level"] == "RED"
    assert all(not n["noDataFrom"] for n in levels.values())


def test_every_agency_says_how_current_its_data_is(hub: RunningHub) -> None:
    data = hub.data("{ dataAsOf { agency title asOf tables { table asOf } } }")
    through = DEFAULT_THROUGH_MONTH.replace(day=31).isoformat()
    agencies = {a["agency"]: a for a in data["dataAsOf"]}
    assert set(agencies) == {"bank", "court", "housing", "hr", "public_security"}
    assert all(a["asOf"] == through for a in agencies.values())
    assert {t["table"] for t in agencies["bank"]["tables"]} == {
        "accounts",
        "allocations",
        "disbursements",
        "cards",
    }


def test_freshness_is_public_to_every_client(hub: RunningHub) -> None:
    """It names no person or enterprise: a client with no scope for the data reads it."""
    dashboard = hub.as_client("audit-office-henan")  # holds audit:read only
    response = dashboard.post("/graphql", json={"query": "{ dataAsOf { agency asOf } }"})
    body = response.json()
    assert "errors" not in body, body
    assert len(body["data"]["dataAsOf"]) == 5
