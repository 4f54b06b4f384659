"""Records follow the entity they belong to, and a filter naming what the caller cannot
see matches nothing: the three leaks the red team found, each checked
over every entity of the demo where it could occur.

(a) a bank's wage positions counted other banks' disbursements; (b) an enterprise's wage
accounts showed region- and court-bound clients the accounts, allocations and payroll of
projects outside their jurisdiction; (c) `workers(filter: {projectCode})` listed which
visible workers were on a project outside the region. The matrix in
`tests/federation/test_jurisdiction_matrix.py` checks every entity and way in."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import SEED, RunningHub
from grants import register_client
from hub.demo import CASE_HOLDER_SCOPES
from kernel.scopes import PROJECT_READ, WAGE_READ, WORKER_EMPLOYMENT
from synthetic.stories import stories

MONTH = stories(SEED).through_month.strftime("%Y-%m")
OTHER_BANK = "test-bank-of-china"
OTHER_COURT = "test-court-xihu"


def _ask(hub: RunningHub, client_id: str, document: str, variables: Any = None) -> Any:
    response = hub.as_client(client_id).post(
        "/graphql", json={"query": document, "variables": variables or {}}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def _projects(hub: RunningHub) -> list[dict[str, Any]]:
    return hub.data(
        "{ projects(first: 100) { nodes { code region { code } wageAccount { bankName } } } }"
    )["projects"]["nodes"]


def test_a_banks_wage_positions_count_only_its_own_accounts(hub: RunningHub) -> None:
    """(a) Bank of China keeps a Nanjing project's account; the workers there worked on
    other banks' projects too."""
    register_client(
        hub, OTHER_BANK, (WAGE_READ, WORKER_EMPLOYMENT, PROJECT_READ), {"bank": ("中国银行",)}
    )
    kept = [
        p["code"]
        for p in _projects(hub)
        if (p["wageAccount"] or {}).get("bankName", "").startswith("中国银行")
    ]
    assert kept
    document = """query($p: String!) { project(code: $p) { registrations { worker {
        wagePositions { paidFen project { code } }
        disbursements { amountFen project { code } }
        registrations { trade project { code } }
        attendance { daysPresent project { code } }
    } } } }"""
    elsewhere = 0
    for code in kept:
        project = _ask(hub, OTHER_BANK, document, {"p": code})["project"]
        for registration in project["registrations"]:
            for records in registration["worker"].values():
                assert all(r["project"] and r["project"]["code"] in kept for r in records), records
        everything = hub.data(document, {"p": code})["project"]["registrations"]
        elsewhere += sum(
            p["paidFen"]
            for r in everything
            for p in r["worker"]["wagePositions"]
            if p["project"]["code"] not in kept
        )
    assert elsewhere > 0  # what other banks paid these workers, which this bank must not see


@pytest.mark.parametrize(
    ("client_id", "reach"),
    [
        ("hr-bureau-xinmi", "{ enterprises(first: 50) { nodes { %s } } }"),
        (OTHER_COURT, "{ disputeCases(first: 10) { nodes { parties { enterprise { %s } } } } }"),
    ],
)
def test_an_enterprises_wage_accounts_stay_in_jurisdiction(
    hub: RunningHub, client_id: str, reach: str
) -> None:
    """(b) A general contractor holding accounts in several regions."""
    register_client(hub, OTHER_COURT, CASE_HOLDER_SCOPES, {"courts": ("浙0106",)})
    selection = f"""uscc wageAccounts {{ bankName project {{ code }}
        allocations {{ amountFen }} disbursements(period: "{MONTH}") {{ amountFen }} }}"""
    data = _ask(hub, client_id, reach % selection)
    enterprises = [
        node.get("enterprise", node)
        for nodes in data.values()
        for item in nodes["nodes"]
        for node in item.get("parties", [item])
    ]
    accounts = [a for e in enterprises if e for a in e["wageAccounts"]]
    assert accounts
    assert all(a["project"] is not None for a in accounts), accounts


def test_a_filter_naming_a_project_out_of_jurisdiction_matches_nothing(hub: RunningHub) -> None:
    """(c) Zhengzhou's HR bureau asks which of its workers were on each project outside
    Zhengzhou; and the same through the region filter."""
    outside = [p["code"] for p in _projects(hub) if not p["region"]["code"].startswith("4101")]
    document = """query($f: WorkerFilterInput) { workers(filter: $f, first: 100) {
        totalCount nodes { idNumber } } }"""
    for code in outside:
        listed = _ask(hub, "hr-bureau-xinmi", document, {"f": {"projectCode": code}})
        assert listed == {"workers": {"totalCount": 0, "nodes": []}}, code
    for prefix in ("32", "3201", "52", "410184"[:2] + "99"):
        listed = _ask(hub, "hr-bureau-xinmi", document, {"f": {"siteRegionCodePrefix": prefix}})
        assert listed["workers"]["totalCount"] == 0, prefix
    inside = _ask(hub, "hr-bureau-xinmi", document, {"f": {"siteRegionCodePrefix": "410184"}})
    assert inside["workers"]["totalCount"] > 0
